import React from 'react';

import { IBlackLakeContext } from '../actions';
import { IPanelState, TabId, TABS } from '../model';
import { Browse } from './Browse';
import { Compare } from './Compare';
import { History } from './History';
import { usePanelState } from './hooks';
import { Lineage } from './Lineage';
import { Search } from './Search';

/** What to show instead of the tabs when there is nothing to browse. */
function StateMessage(props: { ctx: IBlackLakeContext; retry: () => void }): JSX.Element | null {
  const state = usePanelState(props.ctx.model);
  if (state.connection === 'loading') {
    return <div className="jp-BlackLake-empty">Connecting to the BlackLake server extension…</div>;
  }
  if (state.connection === 'missing') {
    return (
      <div className="jp-BlackLake-state jp-BlackLake-missing" data-state="missing">
        <h3>The BlackLake server extension is not available</h3>
        <p>
          This JupyterLab has the BlackLake panel but its Jupyter server does not answer under{' '}
          <code>/blacklake/api/</code>. Install and enable the server side in the environment that
          runs <code>jupyter lab</code>, then restart it:
        </p>
        <pre>{"pip install 'blacklake-ml[jupyter]'\njupyter server extension enable blacklake_ml.jupyter"}</pre>
        <button className="jp-BlackLake-button" onClick={props.retry}>
          Retry
        </button>
      </div>
    );
  }
  if (state.connection === 'offline') {
    return (
      <div className="jp-BlackLake-state" data-state="offline">
        <h3>The server did not answer</h3>
        <p>{state.error?.message ?? ''}</p>
        <p className="jp-BlackLake-muted">Retrying with a growing delay.</p>
        <button className="jp-BlackLake-button" onClick={props.retry}>
          Retry now
        </button>
      </div>
    );
  }
  if (state.connection === 'store-error') {
    return (
      <div className="jp-BlackLake-state" data-state="store-error">
        <h3>The BlackLake store could not be opened</h3>
        <p>{state.error?.message ?? ''}</p>
        <p className="jp-BlackLake-muted">
          Check BLACKLAKE_HOME / BLACKLAKE_STORAGE / BLACKLAKE_CATALOG (or c.BlackLake.home) for
          the Jupyter server.
        </p>
        <button className="jp-BlackLake-button" onClick={props.retry}>
          Retry
        </button>
      </div>
    );
  }
  if (state.status?.empty) {
    const home = state.status.store?.['home'];
    return (
      <div className="jp-BlackLake-state jp-BlackLake-emptyStore" data-state="empty">
        <h3>No repositories yet</h3>
        <p>
          The store{typeof home === 'string' ? ` at ${home}` : ''} is empty. Create a repository and
          put a model into it from a terminal or a notebook:
        </p>
        <pre>
          {'blacklake repo create my-model\n' +
            'blacklake put ./model.safetensors blacklake://my-model/main/model.safetensors -m "first"'}
        </pre>
        <p>or seed the demo repositories:</p>
        <pre>{'python -m blacklake_ml.demo'}</pre>
        <button className="jp-BlackLake-button" onClick={props.retry}>
          Refresh
        </button>
      </div>
    );
  }
  return null;
}

const VIEWS: {
  [id in TabId]: (props: { ctx: IBlackLakeContext; state: IPanelState }) => JSX.Element;
} = { browse: Browse, history: History, compare: Compare, search: Search, lineage: Lineage };

/** The side panel's content: tab bar and the active tab. */
export function Panel(props: { ctx: IBlackLakeContext; retry: () => void }): JSX.Element {
  const { ctx } = props;
  const state = usePanelState(ctx.model);
  // Tabs mount when first shown and then stay mounted (hidden), keeping their state.
  const [visited, setVisited] = React.useState(new Set<TabId>([state.tab]));
  const shown = visited.has(state.tab) ? visited : new Set([...visited, state.tab]);
  React.useEffect(() => {
    if (shown !== visited) {
      setVisited(shown);
    }
  }, [state.tab]);
  const blocked =
    state.connection !== 'ok' || (state.status !== null && state.status.empty === true);
  return (
    <div className="jp-BlackLake-panel" data-connection={state.connection}>
      <div className="jp-BlackLake-tabs" role="tablist">
        {TABS.map(t => (
          <button
            key={t.id}
            role="tab"
            aria-selected={state.tab === t.id}
            className={`jp-BlackLake-tab${state.tab === t.id ? ' jp-mod-active' : ''}`}
            data-tab={t.id}
            onClick={() => ctx.model.showTab(t.id)}
            disabled={blocked}
          >
            {t.label}
          </button>
        ))}
      </div>
      {blocked ? (
        <div className="jp-BlackLake-tabBody">
          <StateMessage ctx={ctx} retry={props.retry} />
        </div>
      ) : (
        TABS.filter(t => shown.has(t.id)).map(t => {
          const View = VIEWS[t.id];
          return (
            <div
              key={t.id}
              className="jp-BlackLake-tabBody"
              role="tabpanel"
              data-panel={t.id}
              hidden={state.tab !== t.id}
            >
              <View ctx={ctx} state={state} />
            </div>
          );
        })
      )}
    </div>
  );
}
