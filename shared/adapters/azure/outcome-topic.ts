/**
 * Sends outcome events to the Event Grid topic with `@azure/eventgrid`'s EventGridPublisherClient in the
 * CloudEvents schema: with the app's Entra ID identity on Azure (the "EventGrid Data Sender" role on the
 * topic; token scope https://eventgrid.azure.net/.default), with the local topic's key locally
 * (OUTCOME_EVENTS_TOPIC_KEY), the same code path either way.
 */
import type { EventGridPublisherClient } from '@azure/eventgrid';
import type { OutcomeEventsConfig } from '../../core/config.js';
import { azureCredential } from './credential.js';
import { type OutcomeTopic } from '../../ports/outcome-topic.js';

/**
 * A send waits at most this long: the job has ended already, and the sweep retries a send that did not finish.
 * Only this cuts a send off; one cut off after the topic took the event is sent again (same `id`).
 */
const SEND_TIMEOUT_MS = 10_000;

const topics = new WeakMap<OutcomeEventsConfig, OutcomeTopic>();

async function createClient(config: OutcomeEventsConfig): Promise<EventGridPublisherClient<'CloudEvent'>> {
  const { AzureKeyCredential, EventGridPublisherClient } = await import('@azure/eventgrid');
  const credential = config.topicKey ? new AzureKeyCredential(config.topicKey) : await azureCredential(config.clientId);
  // One quick retry for a blip; anything longer is the outbox's to retry (see ./outbox.ts). Plain HTTP
  // only for a keyed topic, i.e. the local one: a token never goes over it.
  return new EventGridPublisherClient(config.topicEndpoint, 'CloudEvent', credential, {
    retryOptions: { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1000 },
    allowInsecureConnection: config.topicKey !== undefined && config.topicEndpoint.startsWith('http://'),
  });
}

/** The topic of these settings (one client per configuration, loaded on first use). */
export function outcomeTopic(config: OutcomeEventsConfig): OutcomeTopic {
  let topic = topics.get(config);
  if (!topic) {
    let client: Promise<EventGridPublisherClient<'CloudEvent'>> | undefined;
    topic = {
      async send(event) {
        client ??= createClient(config);
        client.catch(() => (client = undefined));
        const { specversion: _version, time, traceparent, ...rest } = event;
        const abortSignal = AbortSignal.timeout(SEND_TIMEOUT_MS);
        // The SDK sends CloudEvents extensions (here distributed tracing's) from `extensionAttributes`.
        const extensions = traceparent ? { extensionAttributes: { traceparent } } : {};
        await (await client).send([{ ...rest, time: new Date(time), ...extensions }], { abortSignal });
      },
    };
    topics.set(config, topic);
  }
  return topic;
}
