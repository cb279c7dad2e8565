import { useMemo } from 'react';
import { ReactFlow, Background, Controls, MiniMap, MarkerType } from '@xyflow/react';
import FlowNode, { colorFor } from './FlowNode.jsx';

const DEFAULT_EDGE = { markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 } };

/**
 * React Flow with the editor's settings: one generic node component for every node type (known or not),
 * arrows on edges, Delete/Backspace deletes, Shift/Ctrl/Meta add to the selection, Shift+drag box-selects.
 * `handlers` are useCanvasEditing's plus the node click handlers.
 */
export default function Canvas({ nodes, edges, nodeTypeList, typesByName, fit, handlers }) {
  const typeNames = useMemo(() => {
    const s = new Set(nodeTypeList.map((n) => n.type));
    for (const n of nodes) s.add(n.type);
    return [...s].sort().join('|');
  }, [nodeTypeList, nodes]);
  const rfNodeTypes = useMemo(
    () => Object.fromEntries(typeNames.split('|').filter(Boolean).map((k) => [k, FlowNode])), [typeNames],
  );
  const h = handlers;
  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={rfNodeTypes}
      onNodesChange={h.onNodesChange}
      onEdgesChange={h.onEdgesChange}
      onConnect={h.onConnect}
      onReconnect={h.onReconnect}
      onReconnectStart={h.onReconnectStart}
      onReconnectEnd={h.onReconnectEnd}
      onNodeDragStop={h.onDragStop}
      onSelectionDragStop={h.onDragStop}
      onNodeClick={h.onNodeClick}
      onNodeDoubleClick={h.onNodeDoubleClick}
      defaultEdgeOptions={DEFAULT_EDGE}
      deleteKeyCode={['Delete', 'Backspace']}
      multiSelectionKeyCode={['Meta', 'Control', 'Shift']}
      selectionKeyCode="Shift"
      minZoom={0.1}
      maxZoom={2}
      fitView
      fitViewOptions={fit}
      proOptions={{ hideAttribution: true }}
    >
      <Background gap={20} size={1.2} color="#d5dae3" />
      <MiniMap pannable zoomable nodeColor={(n) => colorFor(typesByName[n.type]?.category || n.type)} nodeStrokeWidth={0} maskColor="rgba(240,243,248,0.7)" />
      <Controls showInteractive={false} />
    </ReactFlow>
  );
}
