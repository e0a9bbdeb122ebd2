import { MainAreaWidget } from '@jupyterlab/apputils';
import {
  LabIcon,
  ReactWidget,
  refreshIcon,
  SidePanel,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Panel as LuminoPanel } from '@lumino/widgets';
import React from 'react';

import { IBlackLakeContext } from './actions';
import { Details } from './components/Details';
import { LineageView } from './components/Lineage';
import { Panel } from './components/Panel';
import { formatTime } from './format';
import { IPanelState } from './model';

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
<path class="jp-icon3" fill="#616161" d="M12 2c-4.4 0-8 1.3-8 3v14c0 1.7 3.6 3 8 3s8-1.3 8-3V5c0-1.7-3.6-3-8-3zm0 2c3.9 0 6 1 6 1s-2.1 1-6 1-6-1-6-1 2.1-1 6-1zm6 15c0 .3-2.1 1-6 1s-6-.7-6-1v-3.2c1.5.7 3.6 1.2 6 1.2s4.5-.5 6-1.2V19zm0-5.5c0 .3-2.1 1-6 1s-6-.7-6-1v-3.2c1.5.7 3.6 1.2 6 1.2s4.5-.5 6-1.2v3.2z"/>
</svg>`;

export const blacklakeIcon = new LabIcon({ name: 'blacklake-ml:logo', svgstr: LOGO });

/** The React part of the side panel. */
class PanelBody extends ReactWidget {
  constructor(
    private ctx: IBlackLakeContext,
    private retry: () => void
  ) {
    super();
    this.addClass('jp-BlackLake-body');
  }

  render(): JSX.Element {
    return <Panel ctx={this.ctx} retry={this.retry} />;
  }
}

/** A text label in the toolbar saying when the panel last refreshed. */
class UpdatedLabel extends ReactWidget {
  constructor(ctx: IBlackLakeContext) {
    super();
    this.addClass('jp-BlackLake-updated');
    ctx.model.changed.connect(this._onChange, this);
  }

  private _onChange(_: unknown, s: IPanelState): void {
    if (s.updated !== this._updated) {
      this._updated = s.updated;
      this.update();
    }
  }

  render(): JSX.Element {
    return (
      <span title="Refreshes automatically, less often while nothing changes; paused while hidden">
        {this._updated ? `updated ${formatTime(new Date(this._updated).toISOString()).slice(11)}` : ''}
      </span>
    );
  }

  private _updated: number | null = null;
}

/** The left side panel: a toolbar (refresh) over the tabbed React body. */
export class BlackLakeSidebar extends SidePanel {
  constructor(ctx: IBlackLakeContext, refresh: () => void) {
    // a plain panel, not the default accordion: the body is one full-height widget
    super({ content: new LuminoPanel() });
    this.id = 'blacklake-ml-panel';
    this.addClass('jp-BlackLake-sidebar');
    this.title.icon = blacklakeIcon;
    this.title.caption = 'BlackLake: models and datasets';
    const header = document.createElement('h2');
    header.className = 'jp-BlackLake-header';
    header.textContent = 'BlackLake';
    this.header.node.appendChild(header);
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Refresh now',
        className: 'jp-BlackLake-refresh',
        onClick: refresh
      })
    );
    this.toolbar.addItem('updated', new UpdatedLabel(ctx));
    this.addWidget(new PanelBody(ctx, refresh));
    this._refresh = refresh;
  }

  /** Shown again (the poll stood by while hidden): refresh at once. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._refresh();
  }

  private _refresh: () => void;
}

/** The details of one file or folder, in the main area. */
class DetailsBody extends ReactWidget {
  constructor(
    private ctx: IBlackLakeContext,
    private where: { repo: string; at: string; path: string }
  ) {
    super();
    this.addClass('jp-BlackLake-detailsWidget');
  }

  render(): JSX.Element {
    return <Details ctx={this.ctx} {...this.where} />;
  }
}

export function createDetailsWidget(
  ctx: IBlackLakeContext,
  repo: string,
  ref: string,
  path: string
): MainAreaWidget<DetailsBody> {
  const content = new DetailsBody(ctx, { repo, at: ref, path });
  const widget = new MainAreaWidget({ content });
  widget.id = detailsId(repo, ref, path);
  const name = path ? path.split('/').pop() : repo;
  widget.title.label = `${name} @ ${ref.length > 20 ? ref.slice(0, 8) : ref}`;
  widget.title.caption = `blacklake://${repo}/${ref}${path ? `/${path}` : ''}`;
  widget.title.icon = blacklakeIcon;
  widget.title.closable = true;
  widget.addClass('jp-BlackLake-detailsMain');
  return widget;
}

export function detailsId(repo: string, ref: string, path: string): string {
  return `blacklake-details:${repo}:${ref}:${path}`;
}

/** A lineage graph in the main area (room for wide graphs). */
class LineageBody extends ReactWidget {
  constructor(
    private ctx: IBlackLakeContext,
    private uri: string
  ) {
    super();
    this.addClass('jp-BlackLake-lineageWidget');
  }

  render(): JSX.Element {
    return <LineageView ctx={this.ctx} request={{ uri: this.uri, nonce: 1 }} inPanel={false} />;
  }
}

export function createLineageWidget(
  ctx: IBlackLakeContext,
  uri: string
): MainAreaWidget<LineageBody> {
  const widget = new MainAreaWidget({ content: new LineageBody(ctx, uri) });
  widget.id = `blacklake-lineage:${uri}`;
  widget.title.label = `Lineage: ${uri.replace(/^blacklake:\/\//, '')}`;
  widget.title.caption = uri;
  widget.title.icon = blacklakeIcon;
  widget.title.closable = true;
  return widget;
}
