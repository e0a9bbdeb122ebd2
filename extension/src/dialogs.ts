import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/** One field of a form dialog. */
export interface IField {
  name: string;
  label: string;
  type?: 'text' | 'select';
  value?: string;
  placeholder?: string;
  /** for selects: [value, label] pairs */
  options?: [string, string][];
  required?: boolean;
}

/**
 * A small form as a dialog body. Built with `textContent` and DOM properties only, so
 * store-provided strings (ref names, messages) can never become markup.
 */
export class FormBody extends Widget implements Dialog.IBodyWidget<{ [name: string]: string }> {
  constructor(fields: IField[], note?: string) {
    super();
    this.addClass('jp-BlackLake-form');
    if (note) {
      const p = document.createElement('p');
      p.className = 'jp-BlackLake-formNote';
      p.textContent = note;
      this.node.appendChild(p);
    }
    for (const f of fields) {
      const label = document.createElement('label');
      label.className = 'jp-BlackLake-formRow';
      const span = document.createElement('span');
      span.textContent = f.label;
      label.appendChild(span);
      let input: HTMLInputElement | HTMLSelectElement;
      if (f.type === 'select') {
        const select = document.createElement('select');
        select.className = 'jp-mod-styled';
        for (const [value, text] of f.options ?? []) {
          const o = document.createElement('option');
          o.value = value;
          o.textContent = text;
          select.appendChild(o);
        }
        if (f.value !== undefined) {
          select.value = f.value;
        }
        input = select;
      } else {
        const text = document.createElement('input');
        text.type = 'text';
        text.className = 'jp-mod-styled';
        text.value = f.value ?? '';
        text.placeholder = f.placeholder ?? '';
        text.spellcheck = false;
        input = text;
      }
      input.name = f.name;
      input.dataset.field = f.name;
      label.appendChild(input);
      this.node.appendChild(label);
      this._inputs.set(f.name, input);
    }
  }

  getValue(): { [name: string]: string } {
    const out: { [name: string]: string } = {};
    for (const [name, input] of this._inputs) {
      out[name] = input.value.trim();
    }
    return out;
  }

  /** Focus the first field when the dialog opens. */
  protected onAfterAttach(): void {
    const first = this._inputs.values().next().value;
    if (first) {
      requestAnimationFrame(() => first.focus());
    }
  }

  private _inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
}

/** Show a form; resolves to its values, or null when cancelled. */
export async function formDialog(
  title: string,
  fields: IField[],
  okLabel: string,
  note?: string
): Promise<{ [name: string]: string } | null> {
  const result = await showDialog({
    title,
    body: new FormBody(fields, note),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: okLabel })],
    focusNodeSelector: 'input, select'
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return result.value;
}

/** A dialog listing strings (e.g. conflicting paths) as text. */
export async function listDialog(
  title: string,
  intro: string,
  items: string[]
): Promise<void> {
  const body = new Widget();
  body.addClass('jp-BlackLake-listDialog');
  const p = document.createElement('p');
  p.textContent = intro;
  body.node.appendChild(p);
  const ul = document.createElement('ul');
  for (const item of items.slice(0, 500)) {
    const li = document.createElement('li');
    li.textContent = item;
    ul.appendChild(li);
  }
  if (items.length > 500) {
    const li = document.createElement('li');
    li.textContent = `… and ${items.length - 500} more`;
    ul.appendChild(li);
  }
  body.node.appendChild(ul);
  await showDialog({ title, body, buttons: [Dialog.okButton()] });
}
