import { expect, test } from '@jupyterlab/galata';

import { docShot, openPanel, widenSidebar } from './helpers';

test.describe('Search', () => {
  test('finds the German fine-tune and says why', async ({ page }) => {
    await openPanel(page);
    await widenSidebar(page);
    await page.click('.jp-BlackLake-tab[data-tab="search"]');
    await page.fill('.jp-BlackLake-query', 'German fine-tune');
    await page.press('.jp-BlackLake-query', 'Enter');
    const hits = page.locator('.jp-BlackLake-hit');
    // the first search may load the embedding model
    await expect(hits.first()).toBeVisible({ timeout: 90000 });
    const first = hits.first();
    await expect(first.locator('.jp-BlackLake-scoreText')).toHaveText(/\d\.\d{3}/);
    await expect(first.locator('.jp-BlackLake-term')).toContainText(['german']);
    await expect(first.locator('.jp-BlackLake-why')).toContainText(/matched/);
    // every hit is German-related: a fine-tune on German data or a German model
    const uris = await hits.evaluateAll(hs => hs.map(h => h.getAttribute('data-uri')));
    expect(uris.some(u => /demo-sentiment-de|finetune-de/.test(u ?? ''))).toBe(true);
    await docShot(page, 'search');

    // facet filters narrow the results
    await page.click('.jp-BlackLake-facets > summary');
    const kind = page.locator('.jp-BlackLake-facet[data-facet="kind"] .jp-BlackLake-chip', {
      hasText: 'model'
    });
    await kind.first().click();
    await expect(page.locator('.jp-BlackLake-activeFilters')).toContainText('kind=model');
    await expect(hits.first()).toBeVisible();
    const kinds = await hits.locator('.jp-BlackLake-hitTitle .jp-BlackLake-kind').allTextContents();
    expect(kinds.every(k => k === 'model')).toBe(true);
  });

  test('similar models from a file', async ({ page }) => {
    await openPanel(page);
    await page.click('.jp-BlackLake-tab[data-tab="search"]');
    await page.fill('.jp-BlackLake-query', 'German fine-tune');
    await page.press('.jp-BlackLake-query', 'Enter');
    await expect(page.locator('.jp-BlackLake-hit').first()).toBeVisible({ timeout: 90000 });
    // open a fine-tuned checkpoint and ask for similar files: the other checkpoints share chunks
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('blacklake:open')
    );
    const repoButton = page.locator('.jp-BlackLake-tab[data-tab="browse"]');
    await repoButton.click();
    const back = page.locator('.jp-BlackLake-crumbs button');
    if (await back.count()) {
      await back.click();
    }
    await page.click('.jp-BlackLake-repoItem[data-repo="demo-classifier"]');
    await page.locator('.jp-BlackLake-browse .jp-BlackLake-refSelect').selectOption('finetune-de');
    await page.click('.jp-BlackLake-treeItem[data-path="model.safetensors"]');
    const details = page.locator(
      '.jp-BlackLake-details[data-uri="blacklake://demo-classifier/finetune-de/model.safetensors"]'
    );
    await details.locator('button', { hasText: 'Similar models' }).click();
    const similar = details.locator('[data-section="similar"] .jp-BlackLake-similarHit');
    await expect(similar.first()).toBeVisible({ timeout: 60000 });
    await expect(similar.first()).toContainText(/shares chunks|identical bytes/);
    await expect(similar.first()).toContainText('blacklake://demo-classifier/');
  });
});
