// A server → client WebSocket feed that reconnects with backoff, and falls back to polling
// the REST API while the socket cannot be opened (a browser never learns why a WebSocket was
// refused; the usual cause, with REST working, is an origin missing from
// HEDGE_ALLOWED_ORIGINS).

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
const FAILURES_BEFORE_POLLING = 2;

export class Feed {
  /**
   * name: shown in the status pill; url: () => the ws:// URL (with the key);
   * onMessage(data): each parsed frame; onOpen(): after each (re)connect, e.g. to fill a gap;
   * poll(): async, called every pollMs while the socket is down after repeated failures;
   * onState(feed): on every state change ("connecting", "live", "retrying", "polling", "off").
   */
  constructor({ name, url, onMessage, onOpen, poll, pollMs = 1000, onState, onError }) {
    Object.assign(this, { name, urlOf: url, onMessage, onOpen, poll, pollMs, onState, onError });
    this.state = "off";
    this.delay = MIN_DELAY_MS;
    this.failures = 0;
    this.ws = null;
    this.timer = null;
    this.pollTimer = null;
    this.polling = false;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopPolling();
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.setState("off");
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    if (this.onState) this.onState(this);
  }

  connect() {
    if (this.stopped) return;
    if (!this.polling) this.setState(this.failures ? "retrying" : "connecting");
    let opened = false;
    const ws = new WebSocket(this.urlOf());
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.failures = 0;
      this.delay = MIN_DELAY_MS;
      this.stopPolling();
      this.setState("live");
      if (this.onOpen) this.onOpen();
    };
    ws.onmessage = (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(data);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      if (this.stopped) return;
      if (!opened) this.failures += 1;
      if (this.failures >= FAILURES_BEFORE_POLLING && this.poll) this.startPolling();
      this.setState(this.polling ? "polling" : "retrying");
      // a socket that was live and closed (a restart, "consumer too slow"): back at once
      const wait = opened ? MIN_DELAY_MS : this.nextDelay();
      this.timer = setTimeout(() => this.connect(), wait);
    };
  }

  nextDelay() {
    const d = this.delay;
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    return d * (0.8 + Math.random() * 0.4);
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    const run = async () => {
      if (!this.polling) return;
      try {
        await this.poll();
      } catch (e) {
        if (this.onError) this.onError(e);
      }
      if (this.polling) this.pollTimer = setTimeout(run, this.pollMs);
    };
    run();
  }

  stopPolling() {
    this.polling = false;
    clearTimeout(this.pollTimer);
  }
}
