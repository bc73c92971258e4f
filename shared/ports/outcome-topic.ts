/** Where outcome events go: an Event Grid topic on Azure, the local runtime's topic locally. */
import type { OutcomeCloudEvent } from '../core/outcome-event.js';

export interface OutcomeTopic {
  /** Sends one event, giving up after the adapter's own send timeout. */
  send(event: OutcomeCloudEvent): Promise<void>;
}
