import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import * as path from 'path';

/** Where documentation screenshots go (only written when BLACKLAKE_UI_SCREENSHOTS=1). */
const SHOTS = path.resolve(__dirname, '..', '..', '..', 'docs', 'screenshots');

/** Show the BlackLake side panel (the command works whether it is open or not). */
export async function openPanel(page: IJupyterLabPageFixture): Promise<void> {
  await page.waitForFunction(
    () => (window as any).jupyterapp?.commands.hasCommand('blacklake:open')
  );
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('blacklake:open'));
  await expect(page.locator('#blacklake-ml-panel')).toBeVisible();
  await expect(page.locator('.jp-BlackLake-panel')).toHaveAttribute(
    'data-connection',
    /ok|missing|offline|store-error/
  );
}

/** Open a repository from the list (going back to the list first if one is open). */
export async function openRepo(page: IJupyterLabPageFixture, repo: string): Promise<void> {
  await page.click('.jp-BlackLake-tab[data-tab="browse"]');
  const back = page.locator('.jp-BlackLake-crumbs button');
  if (await back.count()) {
    await back.click();
  }
  await page.click(`.jp-BlackLake-repoItem[data-repo="${repo}"]`);
  await expect(page.locator('.jp-BlackLake-crumbRepo')).toHaveText(repo);
  await expect(page.locator('.jp-BlackLake-treeItem').first()).toBeVisible();
}

/** Widen the left side area so the panel's views have room (for screenshots). */
export async function widenSidebar(page: IJupyterLabPageFixture, width = 430): Promise<void> {
  const panel = page.locator('#blacklake-ml-panel');
  const box = await panel.boundingBox();
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle').first();
  const hb = await handle.boundingBox();
  if (!box || !hb) {
    return;
  }
  const x = hb.x + hb.width / 2;
  const y = hb.y + hb.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(box.x + width, y, { steps: 5 });
  await page.mouse.up();
}

/** Whether documentation screenshots are being taken (BLACKLAKE_UI_SCREENSHOTS=1). */
export const SCREENSHOTS = process.env.BLACKLAKE_UI_SCREENSHOTS === '1';

/**
 * Save a documentation screenshot when asked to (BLACKLAKE_UI_SCREENSHOTS=1): the side panel
 * alone, or the whole window (with the launcher closed).
 */
export async function docShot(
  page: IJupyterLabPageFixture,
  name: string,
  what: 'panel' | 'window' = 'panel'
): Promise<void> {
  if (!SCREENSHOTS) {
    return;
  }
  await page.evaluate(() => {
    // transient notifications and the launcher (it shows the test's folder name) are noise
    document.querySelectorAll('.Toastify__toast').forEach(t => ((t as HTMLElement).style.display = 'none'));
    const app = (window as any).jupyterapp;
    for (const w of Array.from(app.shell.widgets('main')) as any[]) {
      if (w.hasClass?.('jp-Launcher') || w.content?.hasClass?.('jp-Launcher')) {
        w.close();
      }
    }
  });
  await page.waitForTimeout(300);
  const file = path.join(SHOTS, `${name}.png`);
  if (what === 'panel') {
    await page.locator('#blacklake-ml-panel').screenshot({ path: file });
  } else {
    await page.screenshot({ path: file });
  }
}
