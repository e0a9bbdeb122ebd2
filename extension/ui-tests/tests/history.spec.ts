import { expect, test } from '@jupyterlab/galata';

import { docShot, openPanel, openRepo, widenSidebar } from './helpers';

test.describe('History and compare', () => {
  test('the graph shows branches and merges; two commits compare', async ({ page }) => {
    await openPanel(page);
    await widenSidebar(page);
    await openRepo(page, 'ui-fixtures');
    await page.click('.jp-BlackLake-tab[data-tab="history"]');
    const commits = page.locator('.jp-BlackLake-commit');
    await expect(commits.first()).toContainText('Merge feature into main');
    // refs at each commit, one dot per commit, a merge dot, lines in two lanes
    await expect(commits.first().locator('.jp-BlackLake-ref-branch', { hasText: 'main' })).toBeVisible();
    await expect(commits.first().locator('.jp-BlackLake-ref-tag', { hasText: 'ui-v1' })).toBeVisible();
    await expect(page.locator('.jp-BlackLake-commit', { hasText: 'feature: relicense the hostile card' })
      .locator('.jp-BlackLake-ref-branch')).toHaveText('feature');
    await expect(page.locator('.jp-BlackLake-commits circle.jp-BlackLake-dot')).toHaveCount(
      await commits.count()
    );
    await expect(page.locator('.jp-BlackLake-commits circle.jp-BlackLake-mergeDot')).toHaveCount(1);
    const columns = await page
      .locator('.jp-BlackLake-commits circle.jp-BlackLake-dot')
      .evaluateAll(cs => new Set(cs.map(c => c.getAttribute('cx'))).size);
    expect(columns).toBeGreaterThanOrEqual(2); // main, feature (and conflict)

    // pick the merge and an older commit: compare them
    await commits.first().click();
    await page.locator('.jp-BlackLake-commit', { hasText: 'add 10500 small files' }).click();
    await expect(page.locator('.jp-BlackLake-commit .jp-BlackLake-pick')).toHaveCount(2);
    await docShot(page, 'history');
    await page.click('.jp-BlackLake-compareButton');

    await expect(page.locator('.jp-BlackLake-tab[data-tab="compare"]')).toHaveAttribute(
      'aria-selected',
      'true'
    );
    const diff = page.locator('[data-panel="compare"] .jp-BlackLake-diff');
    await expect(diff.locator('.jp-BlackLake-added[data-path="feature.txt"]')).toBeVisible();
    await expect(diff.locator('.jp-BlackLake-added[data-path="main.txt"]')).toBeVisible();
    const notes = diff.locator('.jp-BlackLake-modified[data-path="notes.txt"]');
    await expect(notes).toContainText('content + meta');
    await notes.locator('.jp-BlackLake-diffHead').click();
    // metadata diff and a text diff
    await expect(notes.locator('[data-table="metadata"]')).toContainText('ui-tests');
    await expect(notes.locator('[data-table="metadata"]')).toContainText('feature');
    await expect(notes.locator('.jp-BlackLake-textDiff .jp-BlackLake-diff-add')).toContainText([
      '+beta (edited on feature)',
      '+delta'
    ]);
    await expect(notes.locator('.jp-BlackLake-textDiff .jp-BlackLake-diff-del')).toContainText([
      '-beta'
    ]);
    // the model card changed its licence: a model-facts diff
    const card = diff.locator('.jp-BlackLake-modified[data-path="hostile/README.md"]');
    await card.locator('.jp-BlackLake-diffHead').click();
    const facts = card.locator('[data-table="model facts"]');
    await expect(facts.locator('tr', { hasText: 'license' })).toContainText('mit');
    await expect(facts.locator('tr', { hasText: 'license' })).toContainText('apache-2.0');
    await notes.scrollIntoViewIfNeeded();
    await docShot(page, 'compare');
  });

  test('compare two refs by name (metadata changes)', async ({ page }) => {
    await openPanel(page);
    await openRepo(page, 'demo-classifier');
    await page.click('.jp-BlackLake-tab[data-tab="compare"]');
    const form = page.locator('.jp-BlackLake-compareForm');
    await form.locator('input[name="a"]').fill('v1.0');
    await form.locator('input[name="b"]').fill('finetune-de');
    await form.locator('button[type="submit"]').click();
    const weights = page.locator('.jp-BlackLake-modified[data-path="model.safetensors"]');
    await expect(weights).toBeVisible();
    await expect(page.locator('.jp-BlackLake-diffSummary')).toContainText('v1.0');
    await weights.locator('.jp-BlackLake-diffHead').click();
    await expect(weights.locator('[data-table="metadata"]')).toContainText('language');
  });
});
