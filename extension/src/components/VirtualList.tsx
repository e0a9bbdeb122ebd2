import React, { useCallback, useEffect, useRef, useState } from 'react';

export interface IVirtualListProps<T> {
  items: T[];
  /** fixed height of every row, in pixels */
  rowHeight: number;
  renderRow: (item: T, index: number) => React.ReactNode;
  /** stable key of a row */
  rowKey: (item: T, index: number) => string;
  /** rows rendered above and below the visible window */
  overscan?: number;
  /** height used before the container has been laid out (and in tests) */
  fallbackHeight?: number;
  /** called with the rendered index range after each render */
  onRange?: (start: number, end: number) => void;
  className?: string;
  /** a label for assistive technology */
  ariaLabel?: string;
  role?: string;
}

/**
 * A windowed list: only the rows in (and near) the visible window are in the DOM, so a
 * directory of 10k+ entries or a long history scrolls smoothly. Rows have a fixed height;
 * the list fills its container (give it a height with CSS, e.g. flex: 1).
 */
export function VirtualList<T>(props: IVirtualListProps<T>): JSX.Element {
  const {
    items,
    rowHeight,
    renderRow,
    rowKey,
    overscan = 8,
    fallbackHeight = 480,
    onRange
  } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(0);
  const frame = useRef(0);

  const measure = useCallback(() => {
    const el = ref.current;
    if (el) {
      setHeight(el.clientHeight);
    }
  }, []);

  useEffect(() => {
    measure();
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') {
      return;
    }
    const ro = new ResizeObserver(() => measure());
    ro.observe(el);
    return () => ro.disconnect();
  }, [measure]);

  const onScroll = useCallback(() => {
    if (frame.current) {
      return;
    }
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      if (ref.current) {
        setScrollTop(ref.current.scrollTop);
      }
    });
  }, []);

  useEffect(
    () => () => {
      if (frame.current) {
        cancelAnimationFrame(frame.current);
      }
    },
    []
  );

  const viewport = height > 0 ? height : fallbackHeight;
  const start = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(
    items.length,
    Math.ceil((scrollTop + viewport) / rowHeight) + overscan
  );

  useEffect(() => {
    onRange?.(start, end);
  }, [start, end, items.length]);

  const rows: React.ReactNode[] = [];
  for (let i = start; i < end; i++) {
    rows.push(
      <div
        key={rowKey(items[i], i)}
        className="jp-BlackLake-vrow"
        style={{ top: i * rowHeight, height: rowHeight }}
        data-index={i}
      >
        {renderRow(items[i], i)}
      </div>
    );
  }
  return (
    <div
      ref={ref}
      className={`jp-BlackLake-vlist ${props.className ?? ''}`}
      onScroll={onScroll}
      role={props.role ?? 'list'}
      aria-label={props.ariaLabel}
      data-count={items.length}
    >
      <div
        className="jp-BlackLake-vspacer"
        style={{ height: items.length * rowHeight }}
      >
        {rows}
      </div>
    </div>
  );
}
