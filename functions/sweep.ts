/** sweep (timer): incomplete drops past their deadline, stuck jobs, poison messages, dead-lettered events. */
import { contextLogger, defineFunction, register } from '../shared/adapters/functions-app.js';

export const definition = defineFunction({
  name: 'sweep',
  trigger: { type: 'timer', schedule: '%SWEEP_SCHEDULE%' },
  async handle(rt, _timer: unknown, context) {
    const { sweep } = await import('../shared/pipeline/sweep.js');
    const summary = await sweep(rt, contextLogger(context));
    const acted = Object.entries(summary).filter(([, n]) => n > 0);
    if (acted.length) context.info(`sweep: ${acted.map(([k, n]) => `${k}=${n}`).join(' ')}`);
  },
});

register(definition);
