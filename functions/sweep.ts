/** sweep (timer): incomplete drops past their deadline, stuck jobs, poison messages, dead-lettered events, owed outcome events. */
import { contextLogger, defineFunction } from '../shared/adapters/azure/functions-app.js';
import { register } from '../shared/composition.js';

export const definition = defineFunction({
  name: 'sweep',
  trigger: { type: 'timer', schedule: '%SWEEP_SCHEDULE%' },
  async handle(rt, _timer: unknown, context) {
    const { sweep } = await import('../shared/app/sweep.js');
    const { retryOutcomeEvents } = await import('../shared/app/outbox.js');
    const log = contextLogger(context);
    const summary = { ...(await sweep(rt, log)), ...(await retryOutcomeEvents(rt, log)) };
    const acted = Object.entries(summary).filter(([, n]) => n > 0);
    if (acted.length) context.info(`sweep: ${acted.map(([k, n]) => `${k}=${n}`).join(' ')}`);
  },
});

register(definition);
