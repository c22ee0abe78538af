// Unread counts per room, from each room's inbox: refreshed on load, on
// focus, when the tab becomes visible, shortly after messages arrive, and
// once a minute while visible (never on a tight timer). Several triggers close
// together ask once, and a few rooms at a time, so an owner with many rooms
// does not burst the server.

/** A room's unread messages, and whether any of them mentions this browser. */
export interface Unread {
  unread: number;
  mentioned: boolean;
}

/** One room's inbox call. */
export type InboxAsk = () => Promise<{ unread: number; mentions: unknown[] }>;

export class UnreadCounts {
  private timer = 0;
  private running = false;

  /**
   * @param counts the map the sidebar reads, filled in place
   * @param jobs the rooms to ask about, each with its own credential
   * @param open the room open now (its count is cleared by reading it)
   * @param rendered called after each refresh
   */
  constructor(
    private readonly counts: Map<string, Unread>,
    private readonly jobs: () => [string, InboxAsk][],
    private readonly open: () => string | null,
    private readonly rendered: () => void,
  ) {
    window.addEventListener("focus", () => this.schedule(200));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.schedule(200);
    });
    // A slow backstop for rooms with no open connection.
    window.setInterval(() => {
      if (document.visibilityState === "visible") void this.refresh();
    }, 60_000);
  }

  /** Asks for the counts again soon (several triggers close together ask once). */
  schedule(delay = 1500): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.refresh(), delay);
  }

  async refresh(): Promise<void> {
    if (this.running || document.visibilityState !== "visible") return;
    this.running = true;
    try {
      const jobs = this.jobs();
      for (let i = 0; i < jobs.length; i += 4) {
        await Promise.all(
          jobs.slice(i, i + 4).map(async ([id, ask]) => {
            if (id === this.open()) return;
            try {
              const inbox = await ask();
              this.counts.set(id, { unread: inbox.unread, mentioned: inbox.mentions.length > 0 });
            } catch (e) {
              console.warn("inbox failed", e);
            }
          }),
        );
      }
      this.rendered();
    } finally {
      this.running = false;
    }
  }
}
