import { IRenderMime } from '@jupyterlab/rendermime';

import { splitFrontMatter } from './format';

/** Elements that never belong in a rendered model card, whatever the sanitiser allowed. */
const FORBIDDEN = 'script, style, iframe, frame, object, embed, form, input, button, textarea, select, link, meta, base, svg, math';

/**
 * Render model-card markdown into `host` without ever running anything from it.
 *
 * The markdown is parsed with the app's parser, the HTML passes JupyterLab's sanitiser
 * (as for untrusted notebook output), is parsed into an inert `<template>` (nothing loads
 * or runs there), then a second pass drops scripts, event handler attributes and
 * `javascript:` URLs in case a sanitiser is misconfigured. Links open in a new tab without
 * an opener. Without a parser or sanitiser, the card is shown as plain text.
 */
export async function renderCardInto(
  host: HTMLElement,
  markdown: string,
  parser: IRenderMime.IMarkdownParser | null,
  sanitizer: IRenderMime.ISanitizer | null
): Promise<void> {
  const { body } = splitFrontMatter(markdown);
  host.replaceChildren();
  if (!parser || !sanitizer) {
    const pre = document.createElement('pre');
    pre.className = 'jp-BlackLake-cardText';
    pre.textContent = body;
    host.appendChild(pre);
    return;
  }
  const html = sanitizer.sanitize(await parser.render(body));
  const template = document.createElement('template');
  template.innerHTML = html;
  scrub(template.content);
  host.appendChild(template.content);
}

/** Remove active content from a parsed (inert) fragment, in place. */
export function scrub(root: DocumentFragment | Element): void {
  root.querySelectorAll(FORBIDDEN).forEach(el => el.remove());
  root.querySelectorAll('*').forEach(el => {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\s\u0000-\u001f]+/g, '').toLowerCase();
      if (
        name.startsWith('on') ||
        name === 'style' ||
        name === 'srcdoc' ||
        name === 'srcset' ||
        name === 'formaction' ||
        ((name === 'href' || name === 'src' || name === 'xlink:href' || name === 'action') &&
          (value.startsWith('javascript:') ||
            value.startsWith('vbscript:') ||
            (value.startsWith('data:') && !value.startsWith('data:image/'))))
      ) {
        el.removeAttribute(attr.name);
      }
    }
    // Relative image URLs cannot resolve against the store (and would hit the Jupyter server).
    if (el.tagName === 'IMG') {
      const src = (el.getAttribute('src') ?? '').trim().toLowerCase();
      if (!/^(https?:\/\/|data:image\/)/.test(src)) {
        el.removeAttribute('src');
      }
    }
    if (el.tagName === 'A') {
      el.setAttribute('target', '_blank');
      el.setAttribute('rel', 'noopener noreferrer');
    }
  });
}
