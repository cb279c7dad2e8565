import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const outDir = fileURLToPath(new URL('../../static/editor', import.meta.url));

// One minified ES-module bundle with stable names (editor.js + editor.css) that the Flask page links directly.
// JSX is compiled by Vite's built-in transformer (automatic runtime); no React plugin is needed.
export default defineConfig(({ command }) => ({
  // The production React build for the bundle; tests (vitest) keep the development build (act, warnings).
  define: command === 'build' ? { 'process.env.NODE_ENV': JSON.stringify('production') } : {},
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir,
    emptyOutDir: true,
    minify: true,
    sourcemap: false,
    cssCodeSplit: false,
    modulePreload: false,
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      input: fileURLToPath(new URL('./src/main.jsx', import.meta.url)),
      preserveEntrySignatures: 'exports-only',
      // React Flow ships a "use client" directive (for React Server Components): meaningless in this bundle.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
      output: {
        format: 'es',
        entryFileNames: 'editor.js',
        chunkFileNames: 'editor-[name].js',
        assetFileNames: (info) => (String(info.names?.[0] || info.name || '').endsWith('.css') ? 'editor.css' : '[name][extname]'),
        inlineDynamicImports: true,
      },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.{js,jsx}'],
  },
}));
