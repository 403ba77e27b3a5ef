// Error translation at the edge of the bus: recognised NATS/JetStream failures are retryable
// outages, anything else is a bug (500 GW_INTERNAL), never dressed up as an outage.
import { JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import t from 'tap';
import { isApiError, JetStreamApiCodes, translate } from '../src/bus/errors.ts';
import { GatewayError } from '../src/errors.ts';

const config = { RETRY_AFTER_SECONDS: 3, PUBLISH_TIMEOUT_MS: 500 };

t.test('an error the bus does not recognise is GW_INTERNAL with its cause, not a 503', async (t) => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'seq')");
  const e = translate(bug, config);
  t.equal(e.code, 'GW_INTERNAL');
  t.equal(e.statusCode, 500);
  t.equal(e.cause, bug);
  t.equal(e.retryAfter, undefined);
});

t.test('NATS failures are retryable outages', async (t) => {
  t.equal(translate(new TimeoutError(), config).code, 'GW_PUBLISH_TIMEOUT');
  t.equal(translate(new TimeoutError(), config).retryAfter, 3);
  const noResponders = translate(new RequestError('no responders', { cause: new NoRespondersError('x') }), config);
  t.equal(noResponders.code, 'GW_NATS_UNAVAILABLE');
  t.match(noResponders.message, /no responders/);
  t.equal(translate(new ClosedConnectionError(), config).code, 'GW_NATS_UNAVAILABLE');
  const refused = translate(new JetStreamApiError({ code: 503, err_code: 10077, description: 'maximum messages exceeded' }), config);
  t.equal(refused.code, 'GW_NATS_UNAVAILABLE');
  t.match(refused.message, /JetStream refused the operation: maximum messages/);
});

t.test('a GatewayError passes through unchanged', async (t) => {
  const e = new GatewayError('GW_NOT_FOUND', 'gone');
  t.equal(translate(e, config), e);
});

t.test('JetStream API codes are compared by name', async (t) => {
  const notFound = new JetStreamApiError({ code: 404, err_code: JetStreamApiCodes.ConsumerNotFound, description: 'consumer not found' });
  t.ok(isApiError(notFound, JetStreamApiCodes.ConsumerNotFound));
  t.notOk(isApiError(notFound, JetStreamApiCodes.StreamNotFound));
  t.notOk(isApiError(new Error('x'), JetStreamApiCodes.ConsumerNotFound));
});
