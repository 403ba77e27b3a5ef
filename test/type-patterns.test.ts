// Type patterns have one owner (src/type-patterns.ts): parse, fold, match; the subject mapping
// (src/bus/subjects.ts) is built on it.
import t from 'tap';
import { typePatternSubjects } from '../src/bus/subjects.ts';
import { foldTypePatterns, isTypePattern, parseTypePattern, typeMatcher } from '../src/type-patterns.ts';

t.test('the three forms parse, nothing else does', async (t) => {
  t.same(parseTypePattern('*'), {});
  t.same(parseTypePattern('order.*'), { domain: 'order' });
  t.same(parseTypePattern('order.created'), { domain: 'order', action: 'created' });
  for (const bad of ['order', 'order.>', '*.created', 'Order.created', 'a.b.c', '']) {
    t.notOk(isTypePattern(bad), bad);
    t.equal(parseTypePattern(bad), undefined, bad);
  }
});

t.test('overlapping patterns fold to the broadest, sorted', async (t) => {
  t.same(foldTypePatterns(['order.created', 'order.*', 'invoice.paid', 'invoice.paid']), ['invoice.paid', 'order.*']);
  t.same(foldTypePatterns(['order.created', '*']), ['*']);
  t.same(typePatternSubjects('events', 'ten_a', ['order.created', 'order.*', 'invoice.paid']), [
    'events.ten_a.invoice.paid.*',
    'events.ten_a.order.*.*',
  ]);
});

t.test('matching', async (t) => {
  const m = typeMatcher(['order.*', 'invoice.paid']);
  t.ok(m('order.created'));
  t.ok(m('invoice.paid'));
  t.notOk(m('invoice.sent'));
  t.notOk(m('orders.created'));
  t.ok(typeMatcher([])('anything.at_all'));
  t.ok(typeMatcher(['*'])('anything.at_all'));
});
