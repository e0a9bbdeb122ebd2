import { useEffect, useRef, useState } from 'react';

import { BlackLakeModel, IPanelState } from '../model';

/** The model's state, re-rendering on every change. */
export function usePanelState(model: BlackLakeModel): IPanelState {
  const [state, setState] = useState(model.state);
  useEffect(() => {
    const onChange = (_: BlackLakeModel, s: IPanelState) => setState(s);
    model.changed.connect(onChange);
    setState(model.state);
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
  return state;
}

export interface IAsync<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
}

/**
 * Run `load` whenever `deps` change; stale answers (of superseded requests) are dropped.
 * `load` returning null means "nothing to load".
 */
export function useAsync<T>(
  load: () => Promise<T> | null,
  deps: unknown[]
): IAsync<T> & { reload: () => void } {
  const [state, setState] = useState<IAsync<T>>({
    data: null,
    error: null,
    loading: false
  });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    const p = load();
    if (p === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    setState(s => ({ data: s.data, error: null, loading: true }));
    p.then(
      data => {
        if (seq.current === mine) {
          setState({ data, error: null, loading: false });
        }
      },
      error => {
        if (seq.current === mine) {
          setState({ data: null, error, loading: false });
        }
      }
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: () => setTick(t => t + 1) };
}

/** The message of any error, as text. */
export function errorText(error: unknown): string {
  if (error === null || error === undefined) {
    return '';
  }
  const m = (error as Error).message;
  return typeof m === 'string' ? m : String(error);
}
