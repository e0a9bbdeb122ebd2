import { expect, test } from '@jupyterlab/galata';

/**
 * A notebook that shows a SearchBox over the store the server browses, then prints what was
 * selected. The kernel does not get the server's store from the environment (the server config
 * sets c.BlackLake.home, not BLACKLAKE_HOME), so the path is written into the notebook.
 */
function widgetNotebook(home: string): string {
  const code = (id: string, source: string) => ({
    cell_type: 'code',
    execution_count: null,
    id,
    metadata: {},
    outputs: [],
    source
  });
  return JSON.stringify({
    cells: [
      code(
        'make-box',
        [
          'import blacklake_ml as bl',
          'from blacklake_ml.widgets import SearchBox',
          '',
          // a JSON string literal is a valid Python string literal
          `store = bl.Store.open(${JSON.stringify(home)})`,
          'box = SearchBox(store=store)',
          'box'
        ].join('\n')
      ),
      code('show-value', 'print("selected:", box.value)')
    ],
    metadata: {
      kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

test.describe('Notebook widgets', () => {
  test('a SearchBox renders in a notebook, searches and hands the clicked hit to Python', async ({
    page,
    tmpPath
  }) => {
    // the store this server browses (seeded by seed_store.py with the demo repositories)
    const status = await page.request.get('/blacklake/api/status');
    expect(status.ok()).toBe(true);
    const home: string = (await status.json()).store?.home;
    expect(home).toBeTruthy();

    const nb = `${tmpPath}/widgets.ipynb`;
    await page.contents.uploadContent(widgetNotebook(home), 'text', nb);
    await page.notebook.openByPath(nb);
    await page.notebook.activate('widgets.ipynb');

    // run the first cell in a real kernel: the widget renders in its output
    expect(await page.notebook.runCell(0)).toBe(true);
    const output = await page.notebook.getCellOutputLocator(0);
    expect(output).not.toBeNull();
    const widget = output!.locator('.bl-widget');
    await expect(widget).toBeVisible();
    await expect(widget.locator('.bl-title')).toHaveText('BlackLake search');
    await expect(widget.locator('.bl-error')).toBeHidden();
    await expect(widget.locator('.bl-selected')).toHaveClass(/bl-none/);

    // search from the browser: the kernel answers (the first search loads the embedding model)
    await widget.locator('input.bl-query').fill('German sentiment model');
    await widget.locator('button[type="submit"]', { hasText: 'Search' }).click();
    const hits = widget.locator('li.bl-hit');
    await expect(hits.first()).toBeVisible({ timeout: 90000 });
    await expect(widget.locator('.bl-error')).toBeHidden();
    const uris = await hits.locator('.bl-uri').allTextContents();
    expect(uris.length).toBeGreaterThan(0);
    expect(uris.every(u => u.startsWith('blacklake://'))).toBe(true);
    await expect(widget.locator('li.bl-hit[aria-selected="true"]')).toHaveCount(0);

    // click the German sentiment model: the row is chosen and the footer shows its URI
    const index = uris.findIndex(u => u.startsWith('blacklake://demo-sentiment-de/'));
    expect(index).toBeGreaterThanOrEqual(0);
    const uri = uris[index];
    const row = hits.nth(index);
    await row.click();
    await expect(row).toHaveAttribute('aria-selected', 'true', { timeout: 60000 });
    await expect(row).toHaveClass(/bl-chosen/);
    await expect(widget.locator('li.bl-hit[aria-selected="true"]')).toHaveCount(1);
    await expect(widget.locator('.bl-selected')).not.toHaveClass(/bl-none/);
    await expect(widget.locator('.bl-selected .bl-uri')).toHaveText(uri);
    await expect(widget.locator('.bl-error')).toBeHidden();

    // Python sees the selection (box.value is the clicked hit's blacklake:// URI)
    expect(await page.notebook.runCell(1)).toBe(true);
    await expect
      .poll(async () => ((await page.notebook.getCellTextOutput(1)) ?? []).join(''), {
        timeout: 30000
      })
      .toContain(`selected: ${uri}`);
  });
});
