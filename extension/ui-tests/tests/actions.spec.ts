import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { openPanel, openRepo } from './helpers';

/** A name no earlier run (against a reused server) has taken. */
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}`;

async function fillDialog(
  page: IJupyterLabPageFixture,
  values: { [field: string]: string },
  accept: string
): Promise<void> {
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toBeVisible();
  for (const [field, value] of Object.entries(values)) {
    const input = dialog.locator(`[data-field="${field}"]`);
    if ((await input.evaluate(el => el.tagName)) === 'SELECT') {
      await input.selectOption(value);
    } else {
      await input.fill(value);
    }
  }
  await dialog.locator('.jp-Dialog-button', { hasText: accept }).click();
  // (another dialog, e.g. a conflict report, may open right after this one)
  await expect(page.locator('.jp-Dialog .jp-BlackLake-form')).toHaveCount(0);
}

test.describe('Actions', () => {
  // (branches, tags and aliases go into demo-reviews: the screenshots show ui-fixtures)
  test('create a branch and a tag', async ({ page }) => {
    await openPanel(page);
    await openRepo(page, 'demo-reviews');
    const branch = unique('exp');
    await page.click('.jp-BlackLake-actions button:has-text("Branch…")');
    await fillDialog(page, { name: branch, from: 'main' }, 'Create');
    // the new branch is selected in the ref picker
    await expect(page.locator('.jp-BlackLake-browse .jp-BlackLake-refSelect')).toHaveValue(branch);
    await expect(page.locator('.Toastify__toast', { hasText: `Created branch ${branch}` })).toBeVisible();

    const tag = unique('rc');
    await page.click('.jp-BlackLake-actions button:has-text("Tag…")');
    await fillDialog(page, { name: tag }, 'Create');
    await expect(
      page.locator(`.jp-BlackLake-browse .jp-BlackLake-refSelect option[value="${tag}"]`)
    ).toHaveCount(1);
  });

  test('a conflicting merge reports the conflicting paths and changes nothing', async ({ page }) => {
    await openPanel(page);
    await openRepo(page, 'ui-fixtures');
    const select = page.locator('.jp-BlackLake-browse .jp-BlackLake-refSelect');
    await select.selectOption('main');
    const head = await page.locator('.jp-BlackLake-browse .jp-BlackLake-commitId').getAttribute('title');
    await select.selectOption('conflict');
    await page.click('.jp-BlackLake-actions button:has-text("Merge…")');
    await fillDialog(page, { source: 'conflict', target: 'main' }, 'Merge');
    const report = page.locator('.jp-Dialog', { hasText: 'Merge conflicts' });
    await expect(report).toBeVisible();
    await expect(report.locator('li')).toHaveText(['notes.txt']);
    await report.locator('.jp-Dialog-button', { hasText: 'Ok' }).click();
    await select.selectOption('main');
    await expect(page.locator('.jp-BlackLake-browse .jp-BlackLake-commitId')).toHaveAttribute(
      'title',
      head ?? ''
    );
  });

  test('move an alias', async ({ page }) => {
    await openPanel(page);
    await openRepo(page, 'demo-reviews');
    const alias = unique('champion');
    await page.click('.jp-BlackLake-actions button:has-text("Alias…")');
    await fillDialog(page, { name: alias, ref: 'main', reason: 'UI test <b>bold</b>' }, 'Move');
    await expect(
      page.locator(`.jp-BlackLake-browse .jp-BlackLake-refSelect option[value="${alias}"]`)
    ).toHaveCount(1);
  });
});
