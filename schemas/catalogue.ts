// The event catalogue: every type of the design's tables plus `dns.configured` from its saga
// example. Each `data` schema requires the business keys a consumer needs and allows more fields,
// so producers can add context without a schema change.
import { type TObject, type TSchema, Type } from '@sinclair/typebox';

const Id = (description: string, example: string) => Type.String({ minLength: 1, maxLength: 256, description, examples: [example] });
const Amount = Type.Number({ minimum: 0, description: 'Amount in the currency unit, e.g. 49.99.' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code.', examples: ['EUR'] });
const Reason = Type.String({ minLength: 1, maxLength: 2048, description: 'Why, for humans.' });
const Time = (description: string) => Type.String({ format: 'date-time', description });

const open = <T extends Record<string, TSchema>>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: true, description });

const ResourceRef = open(
  {
    id: Id('Resource id.', 'res_vm_001'),
    type: Id('Resource kind.', 'virtual_machine'),
    status: Id('Resource status.', 'running'),
  },
  'A resource as seen at the time of the event.',
);

const OrderId = Id('Order id.', 'ord_xyz789');
const InvoiceId = Id('Invoice id.', 'inv_2026_03_001');

export interface CatalogueEntry {
  /** The current `MAJOR.MINOR`; envelopes may omit `version` and get this one. */
  version: string;
  description: string;
  data: TObject | TSchema;
  /** A valid `data` sample, used by the OpenAPI examples and the tests. */
  example: Record<string, unknown>;
}

const entry = (description: string, data: TObject, example: Record<string, unknown>): CatalogueEntry => ({
  version: '1.0',
  description,
  data,
  example,
});

const resourceEvent = (description: string, extra: Record<string, TSchema> = {}) =>
  open({ id: ResourceRef.properties.id, type: ResourceRef.properties.type, status: ResourceRef.properties.status, ...extra }, description);

const resourceExample = { id: 'res_vm_001', type: 'virtual_machine', status: 'running', order_id: 'ord_xyz789' };

export const BUILTIN_CATALOGUE: Record<string, CatalogueEntry> = {
  'order.created': entry(
    'New order submitted.',
    open({ order_id: OrderId, customer_id: Type.Optional(Id('Customer id.', 'cus_42')) }, 'An order was submitted.'),
    { order_id: 'ord_xyz789', customer_id: 'cus_42', items: [{ sku: 'vm.small', quantity: 1 }] },
  ),
  'order.validated': entry('Order passes validation.', open({ order_id: OrderId }, 'The order passed validation.'), {
    order_id: 'ord_xyz789',
  }),
  'order.processing': entry('Provisioning workflow started.', open({ order_id: OrderId }, 'Provisioning of the order started.'), {
    order_id: 'ord_xyz789',
  }),
  'order.provisioned': entry(
    'All resources ready.',
    open({ order_id: OrderId, resources: Type.Array(ResourceRef, { minItems: 1 }) }, 'Every resource of the order is ready.'),
    { order_id: 'ord_xyz789', resources: [{ id: 'res_vm_001', type: 'virtual_machine', status: 'running' }] },
  ),
  'order.failed': entry('Provisioning failed.', open({ order_id: OrderId, reason: Reason }, 'Provisioning of the order failed.'), {
    order_id: 'ord_xyz789',
    reason: 'quota exceeded in region eu-1',
  }),
  'order.cancelled': entry('Order cancelled.', open({ order_id: OrderId, reason: Type.Optional(Reason) }, 'The order was cancelled.'), {
    order_id: 'ord_xyz789',
    reason: 'customer request',
  }),
  'resource.created': entry('Resource provisioned.', resourceEvent('A resource was provisioned.'), resourceExample),
  'resource.updated': entry(
    'Resource configuration changed.',
    resourceEvent('A resource configuration changed.', {
      changes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Changed fields.' })),
    }),
    { ...resourceExample, changes: { memory_mb: 4096 } },
  ),
  'resource.status_changed': entry(
    'Resource status transition.',
    resourceEvent('A resource moved from one status to another.', {
      previous_status: Id('Status before the transition.', 'provisioning'),
    }),
    { ...resourceExample, previous_status: 'provisioning' },
  ),
  'resource.deleted': entry('Resource terminated.', resourceEvent('A resource was terminated.'), {
    ...resourceExample,
    status: 'deleted',
  }),
  'invoice.generated': entry(
    'Invoice created for billing period.',
    open(
      {
        invoice_id: InvoiceId,
        amount: Amount,
        currency: Currency,
        period_start: Type.Optional(Time('Start of the billing period.')),
        period_end: Type.Optional(Time('End of the billing period.')),
      },
      'An invoice was created.',
    ),
    {
      invoice_id: 'inv_2026_03_001',
      amount: 49.99,
      currency: 'EUR',
      period_start: '2026-03-01T00:00:00Z',
      period_end: '2026-03-31T23:59:59Z',
    },
  ),
  'invoice.paid': entry(
    'Payment received.',
    open(
      { invoice_id: InvoiceId, amount: Amount, currency: Currency, paid_at: Type.Optional(Time('When it was paid.')) },
      'An invoice was paid.',
    ),
    { invoice_id: 'inv_2026_03_001', amount: 49.99, currency: 'EUR', paid_at: '2026-04-02T09:00:00Z' },
  ),
  'invoice.overdue': entry(
    'Payment past due date.',
    open(
      { invoice_id: InvoiceId, amount: Amount, currency: Currency, due_date: Type.Optional(Time('The missed due date.')) },
      'An invoice is past its due date.',
    ),
    { invoice_id: 'inv_2026_03_001', amount: 49.99, currency: 'EUR', due_date: '2026-04-15T00:00:00Z' },
  ),
  'usage.recorded': entry(
    'Usage data point recorded.',
    open(
      {
        metric: Id('Metered quantity.', 'cpu_hours'),
        value: Type.Number({ description: 'Measured value.' }),
        unit: Id('Unit of the value.', 'hours'),
        resource_id: Type.Optional(Id('Resource measured.', 'res_vm_001')),
      },
      'A usage data point.',
    ),
    { metric: 'cpu_hours', value: 1.5, unit: 'hours', resource_id: 'res_vm_001' },
  ),
  'usage.threshold_reached': entry(
    'Usage nearing limit.',
    open(
      {
        metric: Id('Metered quantity.', 'cpu_hours'),
        value: Type.Number({ description: 'Current value.' }),
        unit: Id('Unit of the value.', 'hours'),
        threshold: Type.Number({ description: 'The threshold that was reached.' }),
      },
      'Usage reached a configured threshold.',
    ),
    { metric: 'cpu_hours', value: 80, unit: 'hours', threshold: 80, limit: 100 },
  ),
  'dns.configured': entry(
    'DNS records set up for a resource (saga step).',
    open(
      { resource_id: Id('Resource the records point at.', 'res_vm_001'), hostname: Id('Configured hostname.', 'vm1.example.net') },
      'DNS was configured.',
    ),
    { resource_id: 'res_vm_001', hostname: 'vm1.example.net', order_id: 'ord_xyz789' },
  ),
};
