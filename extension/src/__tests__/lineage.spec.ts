import { assignLayers, layoutLineage } from '../lineage';

const graph = {
  nodes: [
    { id: 'model' },
    { id: 'dataset' },
    { id: 'base' },
    { id: 'commit' },
    { id: 'run' },
    { id: 'weights' }
  ],
  edges: [
    { source: 'dataset', target: 'model' },
    { source: 'base', target: 'model' },
    { source: 'run', target: 'commit' },
    { source: 'commit', target: 'model' },
    { source: 'model', target: 'weights' }
  ]
};

describe('assignLayers', () => {
  it('layers nodes along the edge direction (longest path)', () => {
    const l = assignLayers(graph);
    expect(l.get('run')).toBe(0);
    expect(l.get('commit')).toBe(1);
    expect(l.get('model')).toBe(2);
    expect(l.get('dataset')).toBeLessThan(l.get('model')!);
    expect(l.get('weights')).toBe(3);
  });

  it('breaks cycles instead of looping', () => {
    const l = assignLayers({
      nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      edges: [
        { source: 'a', target: 'b' },
        { source: 'b', target: 'c' },
        { source: 'c', target: 'a' }
      ]
    });
    expect(new Set(l.values()).size).toBe(3);
  });

  it('ignores edges to unknown nodes', () => {
    const l = assignLayers({ nodes: [{ id: 'a' }], edges: [{ source: 'a', target: 'zz' }] });
    expect(l.get('a')).toBe(0);
  });
});

describe('layoutLineage', () => {
  it('places every node without overlaps, left to right by layer', () => {
    const layout = layoutLineage(graph, { nodeWidth: 100, nodeHeight: 20, layerGap: 40 });
    expect(layout.layers).toBe(4);
    const boxes = [...layout.nodes.values()];
    expect(boxes.length).toBe(6);
    for (const a of boxes) {
      for (const b of boxes) {
        if (a !== b) {
          const apart =
            a.x + 100 <= b.x || b.x + 100 <= a.x || a.y + 20 <= b.y || b.y + 20 <= a.y;
          expect(apart).toBe(true);
        }
      }
      expect(a.x + 100).toBeLessThanOrEqual(layout.width);
      expect(a.y + 20).toBeLessThanOrEqual(layout.height);
    }
    expect(layout.nodes.get('model')!.x).toBeGreaterThan(layout.nodes.get('commit')!.x);
  });

  it('handles an empty graph', () => {
    expect(layoutLineage({ nodes: [], edges: [] })).toMatchObject({ width: 0, height: 0 });
  });
});
