import { useCallback, useState } from 'react';

/**
 * Which side-panel tab is open, whether the panel is collapsed, and the shortcut help popover. A click on a
 * node shows the inspector unless a test tab is open (the test stays in view); a double click always does.
 */
export function usePanels() {
  const [tab, setTab] = useState('inspector');
  const [collapsed, setCollapsed] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);
  const openInspector = useCallback(() => {
    setTab('inspector');
    setCollapsed(false);
  }, []);
  const onNodeClick = useCallback(() => {
    setTab((cur) => (cur === 'test' || cur === 'comment' ? cur : 'inspector'));
  }, []);
  return { tab, setTab, collapsed, setCollapsed, helpOpen, setHelpOpen, openInspector, onNodeClick, onNodeDoubleClick: openInspector };
}
