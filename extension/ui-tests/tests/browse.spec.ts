import { expect, test } from '@jupyterlab/galata';

import { docShot, openPanel, openRepo, SCREENSHOTS, widenSidebar } from './helpers';

const SCRATCH = JSON.stringify({
  cells: [{ cell_type: 'code', execution_count: null, id: 'c1', metadata: {}, outputs: [], source: [] }],
  metadata: {
    kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' }
  },
  nbformat: 4,
  nbformat_minor: 5
});

test.describe('Browse', () => {
  test('repository list → branch → tree → file details', async ({ page }) => {
    await openPanel(page);
    await widenSidebar(page);
    await expect(page.locator('.jp-BlackLake-repoItem[data-repo="demo-classifier"]')).toBeVisible();
    await expect(page.locator('.jp-BlackLake-repoItem[data-repo="demo-reviews"]')).toBeVisible();

    await openRepo(page, 'demo-classifier');
    // branches and tags of the repository are offered as refs
    const refSelect = page.locator('.jp-BlackLake-browse .jp-BlackLake-refSelect');
    await expect(refSelect.locator('option[value="finetune-de"]')).toHaveCount(1);
    await expect(refSelect.locator('option[value="v1.0"]')).toHaveCount(1);
    await refSelect.selectOption('finetune-de');
    const weights = page.locator('.jp-BlackLake-treeItem[data-path="model.safetensors"]');
    await expect(weights).toBeVisible();

    await weights.click();
    const details = page.locator('.jp-BlackLake-details[data-uri="blacklake://demo-classifier/finetune-de/model.safetensors"]');
    await expect(details).toBeVisible();
    // metadata, extracted model facts, the rendered model card and the path's history
    await expect(details.locator('[data-section="metadata"] tr[data-key="sha256"]')).toBeVisible();
    const facts = details.locator('[data-section="facts"]');
    await expect(facts.locator('tr[data-key="format"] td')).toHaveText('huggingface');
    await expect(facts.locator('tr[data-key="license"] td')).toHaveText('apache-2.0');
    const card = details.locator('[data-section="card"] .jp-BlackLake-card');
    await expect(card.locator('h1')).toHaveText('Toy image classifier');
    await expect(card).not.toContainText('license: apache-2.0'); // front matter is not shown
    await expect(details.locator('[data-section="history"] .jp-BlackLake-commitRow').first()).toContainText(
      'fine-tune on German reviews'
    );
    await docShot(page, 'details', 'window');
  });

  test('documentation screenshot of the tree', async ({ page }) => {
    test.skip(!SCREENSHOTS, 'only when taking documentation screenshots');
    await openPanel(page);
    await widenSidebar(page);
    await openRepo(page, 'demo-text');
    const folder = page.locator('.jp-BlackLake-treeItem[data-kind="dir"]').first();
    await folder.click();
    await page.locator('.jp-BlackLake-treeItem[data-kind="file"]').first().click();
    await expect(page.locator('.jp-BlackLake-details')).toBeVisible();
    await docShot(page, 'browse');
  });

  test('model cards and commit messages render inert', async ({ page }) => {
    await openPanel(page);
    await openRepo(page, 'ui-fixtures');
    // the repository description holds HTML: shown as text
    await expect(page.locator('.jp-BlackLake-browse .jp-BlackLake-repoDesc').first()).toHaveText(
      'UI test fixtures: <i>html</i> in a description'
    );
    await page.click('.jp-BlackLake-treeItem[data-path="hostile"]');
    await page.click('.jp-BlackLake-treeItem[data-path="hostile/README.md"]');
    const details = page.locator('.jp-BlackLake-details[data-uri="blacklake://ui-fixtures/main/hostile/README.md"]');
    const card = details.locator('.jp-BlackLake-card');
    await expect(card.locator('h1')).toContainText('Hostile card');
    await expect(card).toContainText('German sentiment model');
    // nothing active survived, and nothing ran
    await expect(card.locator('script, iframe, object, embed, svg')).toHaveCount(0);
    const attrs = await card.evaluate(el =>
      Array.from(el.querySelectorAll('*')).flatMap(e =>
        Array.from(e.attributes).map(a => `${a.name}=${a.value}`)
      )
    );
    expect(attrs.filter(a => /^on|javascript:/i.test(a))).toEqual([]);
    await card.locator('img').first().dispatchEvent('error');
    await card.locator('a').first().click({ modifiers: ['Shift'] }).catch(() => undefined);
    expect(await page.evaluate(() => (window as any).__blacklakePwned)).toBeUndefined();
    // store strings with markup are text everywhere else too
    await expect(details.locator('.jp-BlackLake-title')).toHaveText(
      "Hostile card <script>window.__blacklakePwned = 'script';</script>"
    );
    await expect(details.locator('tr[data-key="tags"] td')).toHaveText('ui-test, <b>bold-tag</b>');
    await page.click('.jp-BlackLake-tab[data-tab="history"]');
    const msg = page.locator('.jp-BlackLake-commit .jp-BlackLake-commitMsg', {
      hasText: 'add the hostile model card'
    });
    await expect(msg).toHaveText('add the hostile model card <script>alert(1)</script>');
    expect(await page.evaluate(() => (window as any).__blacklakePwned)).toBeUndefined();
  });

  test('a folder of 10,500 files is paginated and virtualised', async ({ page }) => {
    await openPanel(page);
    await openRepo(page, 'ui-fixtures');
    await page.click('.jp-BlackLake-treeItem[data-path="many"]');
    await expect(page.locator('.jp-BlackLake-treeItem[data-path="many/file-00000.txt"]')).toBeVisible();
    const tree = page.locator('.jp-BlackLake-tree');
    // one page loaded, only the visible window rendered
    const first = Number(await tree.getAttribute('data-count'));
    expect(first).toBeLessThan(400);
    expect(await page.locator('.jp-BlackLake-tree .jp-BlackLake-vrow').count()).toBeLessThan(80);
    // scrolling to the end loads the next pages
    for (let i = 0; i < 3; i++) {
      await tree.evaluate(el => (el.scrollTop = el.scrollHeight));
      await page.waitForTimeout(300);
    }
    await expect
      .poll(async () => Number(await tree.getAttribute('data-count')))
      .toBeGreaterThan(first + 150);
    expect(await page.locator('.jp-BlackLake-tree .jp-BlackLake-vrow').count()).toBeLessThan(80);
    // the rendered window moved down with the scroll position
    const shown = await page
      .locator('.jp-BlackLake-tree .jp-BlackLake-treeItem')
      .evaluateAll(rows => rows.map(r => Number(/file-(\d+)/.exec(r.getAttribute('data-path') ?? '')?.[1] ?? -1)));
    expect(Math.max(...shown)).toBeGreaterThan(250);
  });

  test('copy the URI and insert a loading snippet into the notebook', async ({ page, tmpPath }) => {
    // a notebook with a kernelspec and one empty code cell (no kernel is started)
    await page.contents.uploadContent(SCRATCH, 'text', `${tmpPath}/scratch.ipynb`);
    await page.notebook.openByPath(`${tmpPath}/scratch.ipynb`);
    await openPanel(page);
    await openRepo(page, 'demo-reviews');
    await page.click('.jp-BlackLake-treeItem[data-path="train.csv"]');
    const details = page.locator(
      '.jp-BlackLake-details[data-uri="blacklake://demo-reviews/main/train.csv"]'
    );
    await expect(details).toBeVisible();
    await details.locator('button', { hasText: 'Copy URI' }).click();
    await expect(
      page.locator('.Toastify__toast', { hasText: 'Copied blacklake://demo-reviews/main/train.csv' })
    ).toBeVisible();
    // the notebook opened last is the target, even while the details tab is active
    await details.locator('button', { hasText: 'Insert into notebook' }).click();
    await page.notebook.activate('scratch.ipynb');
    const source = await page.notebook.getCellTextInput(0);
    expect(source).toContain('import blacklake_ml as bl');
    expect(source).toContain('bl.open("blacklake://demo-reviews/main/train.csv", store=store)');
    expect(source).toContain('pd.read_csv(f)');
  });
});
