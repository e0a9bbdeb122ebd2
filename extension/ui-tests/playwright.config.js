/**
 * Galata/Playwright configuration for the BlackLake UI tests, on the system Chromium.
 *
 * Never `playwright install` (browser downloads fail here): Chromium comes from Debian
 * (`/usr/bin/chromium`, or BLACKLAKE_UI_CHROMIUM). The Jupyter server is started by
 * `webServer` with `jupyter_server_test_config.py` (no token, a seeded store) on
 * BLACKLAKE_UI_PORT, using BLACKLAKE_UI_PYTHON (default: python3 on PATH).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.BLACKLAKE_UI_PORT || '8888';
const python = process.env.BLACKLAKE_UI_PYTHON || 'python3';
const baseURL = `http://127.0.0.1:${port}`;

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: './test-results',
  timeout: 120000,
  expect: { timeout: 30000 },
  retries: 0,
  workers: 1,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    ...baseConfig.use,
    baseURL,
    viewport: { width: 1400, height: 900 },
    video: 'off',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.BLACKLAKE_UI_CHROMIUM || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    // the server's log goes to a file (printed by .ci/frontend when the tests fail)
    command: `${python} -m jupyterlab --config jupyter_server_test_config.py > jupyter-server.log 2>&1`,
    url: `${baseURL}/lab`,
    timeout: 240000,
    reuseExistingServer: !process.env.CI,
    stdout: 'ignore',
    stderr: 'pipe'
  }
};
