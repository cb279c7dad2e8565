import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const outDir = fileURLToPath(new URL('../../static/editor', import.meta.url));

// One ES-module bundle with stable names (editor.js + editor.css) that the Flask page links directly.
// JSX is compiled by Vite's built-in transformer (automatic runtime); no React plugin is needed.
export default defineConfig({
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir,
    emptyOutDir: true,
    minify: true,
    sourcemap: false,
    cssCodeSplit: false,
    lib: {
      entry: fileURLToPath(new URL('./src/main.jsx', import.meta.url)),
      formats: ['es'],
      fileName: () => 'editor.js',
      cssFileName: 'editor',
    },
    rollupOptions: { output: { inlineDynamicImports: true } },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.js'],
  },
});
