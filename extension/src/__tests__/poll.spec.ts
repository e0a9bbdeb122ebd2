import { nextIdleInterval, RefreshPoll } from '../poll';

describe('nextIdleInterval', () => {
  it('doubles while nothing changes, up to the maximum', () => {
    let t = 10;
    const seen: number[] = [];
    for (let i = 0; i < 7; i++) {
      t = nextIdleInterval(t, false, 10, 300);
      seen.push(t);
    }
    expect(seen).toEqual([20, 40, 80, 160, 300, 300, 300]);
  });

  it('goes back to the base interval on a change', () => {
    expect(nextIdleInterval(160, true, 10, 300)).toBe(10);
  });
});

describe('RefreshPoll', () => {
  const wait = (ms: number) => new Promise(r => setTimeout(r, ms));
  /** Wait until `cond` holds (the machine may be slow and shared), at most `ms`. */
  const waitFor = async (cond: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) {
      await wait(10);
    }
  };

  it('slows down while nothing changes and resets on a manual refresh', async () => {
    let calls = 0;
    const poll = new RefreshPoll(
      async () => {
        calls++;
        return false;
      },
      () => true,
      { interval: 0.01, max: 0.08 }
    );
    await waitFor(() => poll.interval === 80);
    expect(calls).toBeGreaterThan(2);
    expect(poll.interval).toBe(80); // 10 ms doubled up to the 80 ms maximum
    await poll.refreshNow();
    expect(poll.interval).toBeLessThanOrEqual(20);
    poll.dispose();
  });

  it('stands by while the panel is hidden', async () => {
    let calls = 0;
    let visible = false;
    const poll = new RefreshPoll(
      async () => {
        calls++;
        return true;
      },
      () => visible,
      { interval: 0.01, max: 0.02 }
    );
    await wait(150);
    const hiddenCalls = calls;
    expect(hiddenCalls).toBeLessThanOrEqual(1); // at most the first tick
    visible = true;
    await waitFor(() => calls > hiddenCalls + 2);
    expect(calls).toBeGreaterThan(hiddenCalls + 2);
    poll.dispose();
  });

  it('backs off while refreshing fails', async () => {
    const times: number[] = [];
    const poll = new RefreshPoll(
      async () => {
        times.push(Date.now());
        throw new Error('server down');
      },
      () => true,
      { interval: 0.01, max: 1 }
    );
    await wait(800);
    poll.dispose();
    // Lumino's back-off waits a random time between the interval and twice the last wait:
    // far fewer attempts than the ~80 a fixed 10 ms interval would make.
    expect(times.length).toBeGreaterThan(2);
    expect(times.length).toBeLessThan(40);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    const late = gaps.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(late).toBeGreaterThan(gaps[0]);
  });
});
