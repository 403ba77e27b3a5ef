// Identifiers (schemas/identifiers.ts): each guard accepts exactly what its schema accepts, and
// nothing that could change the shape of a NATS subject gets through.
import t from 'tap';
import {
  ConsumerName,
  CorrelationId,
  EventId,
  EventType,
  EventVersion,
  GroupName,
  isConsumerName,
  isCorrelationId,
  isEventId,
  isEventType,
  isEventVersion,
  isGroupName,
  isName,
  isSubjectToken,
  isSubscriptionId,
  isTenantId,
  isTypePattern,
  Name,
  SubjectToken,
  SubscriptionId,
  TenantId,
  TypePattern,
} from '../schemas/identifiers.ts';
import { bodyAjv } from '../src/validation.ts';

const long = (n: number) => 'a'.repeat(n);
const SAMPLES = [
  '',
  'a',
  'ten_xyz789',
  'evt-01J9Z3K4',
  'a.b',
  'order.created',
  'order.*',
  '*',
  'resource.status_changed',
  'Order.created',
  'order.created.x',
  'a b',
  'a>b',
  'a*b',
  'é',
  '1.0',
  '10.25',
  '01.0',
  long(64),
  long(65),
  long(128),
  long(129),
  `${long(64)}.${long(64)}`,
  `${long(64)}.${long(65)}`,
];

const PAIRS = [
  ['SubjectToken', SubjectToken, isSubjectToken],
  ['TenantId', TenantId, isTenantId],
  ['EventId', EventId, isEventId],
  ['CorrelationId', CorrelationId, isCorrelationId],
  ['Name', Name, isName],
  ['ConsumerName', ConsumerName, isConsumerName],
  ['GroupName', GroupName, isGroupName],
  ['SubscriptionId', SubscriptionId, isSubscriptionId],
  ['EventType', EventType, isEventType],
  ['EventVersion', EventVersion, isEventVersion],
  ['TypePattern', TypePattern, isTypePattern],
] as const;

t.test('each guard accepts exactly what its schema accepts', async (t) => {
  for (const [name, schema, guard] of PAIRS) {
    const validate = bodyAjv.compile(JSON.parse(JSON.stringify(schema)));
    for (const s of SAMPLES) t.equal(guard(s), validate(s), `${name} ${JSON.stringify(s.length > 20 ? `${s.length} chars` : s)}`);
    t.notOk(guard(42), `${name} refuses a number`);
    t.notOk(guard(undefined), `${name} refuses undefined`);
  }
});

t.test('subject tokens never hold a subject separator or wildcard', async (t) => {
  for (const guard of [isSubjectToken, isTenantId, isEventId, isCorrelationId, isName, isConsumerName, isSubscriptionId]) {
    for (const bad of ['a.b', 'a*', 'a>', 'a b', 'a\tb', '']) t.notOk(guard(bad), bad);
  }
});

t.test('bounds', async (t) => {
  t.ok(isTenantId(long(128)));
  t.notOk(isTenantId(long(129)));
  t.ok(isConsumerName(long(64)));
  t.notOk(isConsumerName(long(65)));
  t.ok(isSubscriptionId(long(64)));
  t.notOk(isSubscriptionId(long(65)));
});
