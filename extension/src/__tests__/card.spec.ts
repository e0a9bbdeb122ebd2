import { Sanitizer } from '@jupyterlab/apputils';

import { renderCardInto, scrub } from '../card';

const HOSTILE = `---
license: mit
---
# Card <script>window.__pwned = 'script'</script>

Text <img src="x" onerror="window.__pwned = 'img'"> and
<a href="javascript:window.__pwned='link'">a link</a>
<a href="https://example.org/model">docs</a>
<iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>
<svg onload="window.__pwned='svg'"><circle r="3"/></svg>
<div style="background:url(javascript:alert(1))" onclick="window.__pwned='click'">styled</div>
`;

/** The worst case for the sanitiser: a "markdown parser" that passes HTML through as is. */
const passThrough = { render: async (s: string) => s };

declare global {
  interface Window {
    __pwned?: string;
  }
}

describe('renderCardInto', () => {
  beforeEach(() => {
    delete window.__pwned;
  });

  it('renders a hostile card without any active content', async () => {
    const host = document.createElement('div');
    document.body.appendChild(host);
    await renderCardInto(host, HOSTILE, passThrough, new Sanitizer());
    expect(host.querySelectorAll('script, iframe, svg, object, embed').length).toBe(0);
    for (const el of Array.from(host.querySelectorAll('*'))) {
      for (const attr of Array.from(el.attributes)) {
        expect(attr.name.startsWith('on')).toBe(false);
        expect(attr.value.toLowerCase()).not.toContain('javascript:');
      }
    }
    // the harmless parts survive
    expect(host.textContent).toContain('Card');
    expect(host.textContent).toContain('styled');
    const safe = host.querySelector('a[href="https://example.org/model"]');
    expect(safe?.getAttribute('rel')).toBe('noopener noreferrer');
    expect(safe?.getAttribute('target')).toBe('_blank');
    // the front matter is not part of the rendered card
    expect(host.textContent).not.toContain('license: mit');
    host.querySelector('div')?.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    host.querySelector('img')?.dispatchEvent(new Event('error'));
    await new Promise(r => setTimeout(r, 10));
    expect(window.__pwned).toBeUndefined();
    host.remove();
  });

  it('falls back to plain text without a parser or sanitiser', async () => {
    const host = document.createElement('div');
    await renderCardInto(host, '# T\n<img src=x onerror="window.__pwned=1">', null, null);
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('pre')?.textContent).toContain('<img src=x');
  });
});

describe('scrub', () => {
  it('removes what a lax sanitiser let through', () => {
    const t = document.createElement('template');
    t.innerHTML =
      '<p onmouseover="x()">a</p><a href=" JaVaScRiPt:alert(1)">b</a>' +
      '<img src="data:text/html,<script>x</script>"><img src="data:image/png;base64,AAAA">' +
      '<form action="javascript:x()"><input></form><style>*{}</style>';
    scrub(t.content);
    const html = (t.content as unknown as { children: HTMLCollection }).children;
    const div = document.createElement('div');
    div.appendChild(t.content);
    expect(div.innerHTML).not.toMatch(/onmouseover|javascript|<form|<style|<input|text\/html/i);
    expect(div.querySelector('img[src^="data:image/png"]')).not.toBeNull();
    expect(html).toBeDefined();
  });
});
