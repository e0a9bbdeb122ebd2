import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { IBlackLakeContext } from './actions';
import { BlackLakeAPI } from './api';
import { renderCardInto } from './card';
import { BlackLakeModel } from './model';
import { RefreshPoll } from './poll';
import {
  BlackLakeSidebar,
  createDetailsWidget,
  createLineageWidget,
  detailsId
} from './widgets';

const PLUGIN_ID = 'blacklake-ml:plugin';

namespace CommandIDs {
  export const open = 'blacklake:open';
  export const refresh = 'blacklake:refresh';
  export const search = 'blacklake:search';
}

/**
 * BlackLake ML: a left side panel to browse repositories, history, diffs, search and lineage
 * of versioned models and datasets, talking to the `blacklake_ml` server extension.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Browse, compare, search and trace BlackLake models and datasets.',
  autoStart: true,
  optional: [
    ILayoutRestorer,
    ICommandPalette,
    INotebookTracker,
    IRenderMimeRegistry,
    ISettingRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    rendermime: IRenderMimeRegistry | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const api = new BlackLakeAPI(app.serviceManager.serverSettings);
    const model = new BlackLakeModel(api);
    const details = new Map<string, MainAreaWidget>();

    const ctx: IBlackLakeContext = {
      api,
      model,
      notebooks,
      treePageSize: 200,
      renderCard: (host, markdown) =>
        renderCardInto(
          host,
          markdown,
          rendermime?.markdownParser ?? null,
          rendermime?.sanitizer ?? null
        ),
      openLineage: uri => {
        const id = `blacklake-lineage:${uri}`;
        let widget = details.get(id);
        if (!widget || widget.isDisposed) {
          widget = createLineageWidget(ctx, uri);
          details.set(id, widget);
          widget.disposed.connect(() => details.delete(id));
          app.shell.add(widget, 'main');
        }
        app.shell.activateById(widget.id);
      },
      openDetails: (repo, ref, path) => {
        const id = detailsId(repo, ref, path);
        let widget = details.get(id);
        if (!widget || widget.isDisposed) {
          widget = createDetailsWidget(ctx, repo, ref, path);
          details.set(id, widget);
          widget.disposed.connect(() => details.delete(id));
          app.shell.add(widget, 'main');
        }
        app.shell.activateById(widget.id);
      }
    };

    let poll: RefreshPoll | null = null;
    const refresh = () => void poll?.refreshNow().catch(() => undefined);
    const sidebar = new BlackLakeSidebar(ctx, refresh);
    poll = new RefreshPoll(
      () => model.refresh(),
      () => sidebar.isVisible,
      { interval: 10, max: 300 }
    );
    app.shell.add(sidebar, 'left', { rank: 450 });
    if (restorer) {
      restorer.add(sidebar, 'blacklake-ml-panel');
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            const interval = Number(settings.get('refreshInterval').composite ?? 10);
            const max = Number(settings.get('maxRefreshInterval').composite ?? 300);
            ctx.treePageSize = Number(settings.get('pageSize').composite ?? 200);
            poll?.configure({
              interval: Math.max(2, interval),
              max: Math.max(interval, max)
            });
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.warn('blacklake-ml: could not load settings', reason);
        });
    }

    app.commands.addCommand(CommandIDs.open, {
      label: 'BlackLake: Show Panel',
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'BlackLake: Refresh',
      execute: () => refresh()
    });
    app.commands.addCommand(CommandIDs.search, {
      label: 'BlackLake: Search Models and Datasets',
      execute: () => {
        model.showTab('search');
        app.shell.activateById(sidebar.id);
      }
    });
    if (palette) {
      for (const command of [CommandIDs.open, CommandIDs.refresh, CommandIDs.search]) {
        palette.addItem({ command, category: 'BlackLake' });
      }
    }
  }
};

export default plugin;
