import { expect, test } from '@jupyterlab/galata';

import { openPanel, openRepo } from './helpers';

/**
 * The scanner's verdicts as the panel shows them, against the real server (seed_store.py's
 * `safety/` folder): green "safe", red "unsafe", amber "not verified" — never green for a
 * file the scanner could not vouch for.
 */
test.describe('Safety verdicts', () => {
  test('file rows and the details header show the verdict and its reasons', async ({ page }) => {
    await openPanel(page);
    await openRepo(page, 'ui-fixtures');
    await page.click('.jp-BlackLake-treeItem[data-path="safety"]');
    const badge = (path: string) =>
      page.locator(`.jp-BlackLake-treeItem[data-path="${path}"] .jp-BlackLake-safety`);
    await expect(badge('safety/evil.pkl')).toHaveAttribute('data-safety', 'unsafe');
    await expect(badge('safety/evil.pkl')).toHaveText('unsafe');
    await expect(badge('safety/blob.bin')).toHaveAttribute('data-safety', 'unknown');
    await expect(badge('safety/blob.bin')).toHaveText('not verified');
    await expect(badge('safety/notes.txt')).toHaveAttribute('data-safety', 'safe');
    // folders carry no verdict of their own
    await expect(badge('safety')).toHaveCount(0);
    // not verified is not styled like safe
    const colour = async (path: string) =>
      badge(path).evaluate(el => getComputedStyle(el).backgroundColor);
    const [safe, unknown, unsafe] = await Promise.all([
      colour('safety/notes.txt'),
      colour('safety/blob.bin'),
      colour('safety/evil.pkl')
    ]);
    expect(new Set([safe, unknown, unsafe]).size).toBe(3);

    await page.click('.jp-BlackLake-treeItem[data-path="safety/evil.pkl"]');
    const details = page.locator(
      '.jp-BlackLake-details[data-uri="blacklake://ui-fixtures/main/safety/evil.pkl"]'
    );
    const verdict = details.locator('.jp-BlackLake-detailHeader .jp-BlackLake-safetyVerdict');
    await expect(verdict).toHaveAttribute('data-safety', 'unsafe');
    await expect(verdict.locator('.jp-BlackLake-safety')).toHaveText('unsafe — loading runs code');
    await expect(verdict.locator('.jp-BlackLake-safetyReasons li').first()).toContainText(
      'os.system'
    );
  });

  test('every search hit carries a verdict badge', async ({ page }) => {
    await openPanel(page);
    await page.click('.jp-BlackLake-tab[data-tab="search"]');
    await page.fill('.jp-BlackLake-query', 'German fine-tune');
    await page.press('.jp-BlackLake-query', 'Enter');
    const hits = page.locator('.jp-BlackLake-hit');
    await expect(hits.first()).toBeVisible({ timeout: 90000 });
    const n = await hits.count();
    const states = await hits
      .locator('.jp-BlackLake-hitTitle .jp-BlackLake-safety')
      .evaluateAll(els => els.map(e => e.getAttribute('data-safety')));
    expect(states.length).toBe(n);
    for (const s of states) {
      expect(['safe', 'unsafe', 'unknown']).toContain(s);
    }
  });
});
