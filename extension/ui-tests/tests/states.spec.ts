import { expect, test } from '@jupyterlab/galata';

import { docShot, openPanel } from './helpers';

test.describe('Panel states', () => {
  test('says so when the server extension is missing', async ({ page }) => {
    // What a Jupyter server without blacklake_ml.jupyter answers: its HTML 404 page.
    await page.route('**/blacklake/api/**', route =>
      route.fulfill({ status: 404, contentType: 'text/html', body: '<html><body>404 : Not Found</body></html>' })
    );
    await page.reload();
    await openPanel(page);
    const state = page.locator('.jp-BlackLake-missing');
    await expect(state).toBeVisible();
    await expect(state).toContainText('server extension is not available');
    await expect(state).toContainText('jupyter server extension enable blacklake_ml.jupyter');
    await expect(page.locator('.jp-BlackLake-tab').first()).toBeDisabled();
    await docShot(page, 'missing-extension');

    // once the server answers again, Retry brings the panel back
    await page.unroute('**/blacklake/api/**');
    await state.locator('button', { hasText: 'Retry' }).click();
    await expect(page.locator('.jp-BlackLake-repoItem, .jp-BlackLake-crumbs').first()).toBeVisible();
  });

  test('explains an empty store', async ({ page }) => {
    await page.route('**/blacklake/api/status**', route =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          ok: true, extension: 'blacklake_ml', version: '0.1.0', api_version: 1,
          store: { home: '/data/<empty>' }, dense_search: false,
          counts: { repos: 0, cards: 0 }, empty: true
        })
      })
    );
    await page.route('**/blacklake/api/repos?**', route =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ items: [], offset: 0, limit: 1000, total: 0, has_more: false })
      })
    );
    await page.reload();
    await openPanel(page);
    const state = page.locator('.jp-BlackLake-emptyStore');
    await expect(state).toBeVisible();
    await expect(state).toContainText('No repositories yet');
    await expect(state).toContainText('/data/<empty>');
    await expect(state).toContainText('python -m blacklake_ml.demo');
  });
});
