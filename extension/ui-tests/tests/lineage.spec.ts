import { expect, test } from '@jupyterlab/galata';

import { docShot, openPanel, widenSidebar } from './helpers';

const MODEL = 'blacklake://demo-classifier/main';

test.describe('Lineage', () => {
  test('renders the graph around a model; nodes are clickable', async ({ page }) => {
    await openPanel(page);
    await widenSidebar(page, 520);
    await page.click('.jp-BlackLake-tab[data-tab="lineage"]');
    await page.fill('.jp-BlackLake-lineageForm input[name="uri"]', MODEL);
    await page.press('.jp-BlackLake-lineageForm input[name="uri"]', 'Enter');
    const graph = page.locator('[data-panel="lineage"] .jp-BlackLake-lineageGraph');
    await expect(graph.locator('.jp-BlackLake-node').first()).toBeVisible({ timeout: 60000 });
    // the model in the centre, the commits that wrote it, the dataset its card names, its
    // weights file and the fine-tune's weights that share chunks with them
    await expect(graph.locator('.jp-BlackLake-node.jp-mod-center')).toHaveCount(1);
    await expect(graph.locator('.jp-BlackLake-node[data-kind="commit"]').first()).toBeAttached();
    await expect(graph.locator('.jp-BlackLake-node[data-kind="dataset"]')).toHaveCount(1);
    await expect(graph.locator('.jp-BlackLake-edge[data-kind="wrote"]').first()).toBeAttached();
    await expect(graph.locator('.jp-BlackLake-edge[data-kind="shares_chunks"]')).toHaveCount(1);

    // click a commit: its details (message, URI) show
    await graph.locator('.jp-BlackLake-node[data-kind="commit"]').first().click();
    const info = page.locator('[data-panel="lineage"] .jp-BlackLake-nodeInfo');
    await expect(info).toContainText('commit');
    await expect(info.locator('.jp-BlackLake-uri')).toContainText('blacklake://demo-classifier/');
    // click the fine-tune's weights and open their details from the graph
    const ft = graph.locator(
      '.jp-BlackLake-node[data-id="blacklake://demo-classifier/finetune-de/model.safetensors"]'
    );
    await ft.click();
    await info.locator('button', { hasText: 'Open details' }).click();
    await expect(
      page.locator(
        '.jp-BlackLake-details[data-uri="blacklake://demo-classifier/finetune-de/model.safetensors"]'
      )
    ).toBeVisible();
    // re-centre the graph on it
    await info.locator('button', { hasText: 'Center here' }).click();
    await expect(page.locator('[data-panel="lineage"] input[name="uri"]')).toHaveValue(
      'blacklake://demo-classifier/finetune-de/model.safetensors'
    );
    await expect(
      graph.locator(
        '.jp-BlackLake-node.jp-mod-center[data-id="blacklake://demo-classifier/finetune-de/model.safetensors"], .jp-BlackLake-node[data-id="blacklake://demo-classifier/finetune-de/model.safetensors"]'
      ).first()
    ).toBeVisible();

    // the graph full size in the main area
    await page.fill('.jp-BlackLake-lineageForm input[name="uri"]', MODEL);
    await page.press('.jp-BlackLake-lineageForm input[name="uri"]', 'Enter');
    await expect(graph.locator('.jp-BlackLake-node.jp-mod-center')).toHaveAttribute('data-id', MODEL);
    await page.locator('.jp-BlackLake-openLarge').click();
    const large = page.locator('.jp-BlackLake-lineageWidget');
    await expect(large.locator('.jp-BlackLake-node.jp-mod-center')).toBeVisible({ timeout: 60000 });
    await large.locator('.jp-BlackLake-node[data-kind="dataset"]').click();
    await expect(large.locator('.jp-BlackLake-nodeInfo')).toContainText('dataset');
    await docShot(page, 'lineage', 'window');
  });

  test('recorded runs: dataset -> run -> model from the lineage store', async ({ page }) => {
    // the demo records each iris fit: iris.csv --consumed--> run --produced--> model files
    await openPanel(page);
    await widenSidebar(page, 520);
    await page.click('.jp-BlackLake-tab[data-tab="lineage"]');
    await page.fill('.jp-BlackLake-lineageForm input[name="uri"]', 'blacklake://demo-iris/v1.0.0');
    await page.press('.jp-BlackLake-lineageForm input[name="uri"]', 'Enter');
    const graph = page.locator('[data-panel="lineage"] .jp-BlackLake-lineageGraph');
    const run = graph.locator('.jp-BlackLake-node[data-kind="run"][data-id^="run:demo:"]');
    await expect(run).toHaveCount(1, { timeout: 60000 });
    await expect(graph.locator('.jp-BlackLake-edge[data-kind="consumed"]')).toHaveCount(1);
    await expect(graph.locator('.jp-BlackLake-edge[data-kind="produced"]').first()).toBeAttached();
    await run.click();
    const info = page.locator('[data-panel="lineage"] .jp-BlackLake-nodeInfo');
    await expect(info).toContainText('fit logistic regression C=0.05');
    await expect(info).toContainText('demo');
    // the run's input is the stored dataset file, pinned to its commit
    await expect(
      graph.locator('.jp-BlackLake-node[data-id^="blacklake://demo-iris-data/"][data-id$="/iris.csv"]')
    ).toHaveCount(1);
  });

  test('lineage from a search hit', async ({ page }) => {
    await openPanel(page);
    await page.click('.jp-BlackLake-tab[data-tab="search"]');
    await page.fill('.jp-BlackLake-query', 'German fine-tune');
    await page.press('.jp-BlackLake-query', 'Enter');
    const hit = page.locator('.jp-BlackLake-hit').first();
    await expect(hit).toBeVisible({ timeout: 90000 });
    const uri = await hit.getAttribute('data-uri');
    await hit.locator('button', { hasText: 'lineage' }).click();
    await expect(page.locator('.jp-BlackLake-tab[data-tab="lineage"]')).toHaveAttribute(
      'aria-selected',
      'true'
    );
    await expect(page.locator('[data-panel="lineage"] .jp-BlackLake-node.jp-mod-center')).toHaveAttribute(
      'data-id',
      uri ?? '',
      { timeout: 60000 }
    );
  });
});
