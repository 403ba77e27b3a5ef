// Handler types derived from the contract: for an operationId, the request's params, querystring
// and body and the reply of each success status are the Static<> types of the TypeBox schemas its
// OperationSpec (schemas/) names. openapi-glue mounts the routes from the document built from the
// same specs, so a handler is typed by exactly the schemas its requests were validated against.
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OPERATIONS } from '../schemas/openapi.ts';

type Operations = (typeof OPERATIONS)[number];
export type OperationId = Operations['operationId'];
type OperationOf<Id extends OperationId> = Extract<Operations, { operationId: Id }>;

type StaticOf<S> = S extends TSchema ? Static<S> : unknown;
type ParametersOf<Op> = Op extends { parameters: readonly (infer P)[] } ? P : never;
type ParametersIn<Op, In extends 'path' | 'query'> = Extract<ParametersOf<Op>, { in: In }>;
// Path parameters are always present; query parameters when `required: true`. (A query parameter
// with a schema `default` is filled in by validation, but TypeBox does not carry defaults in types.)
type Present<P> = P extends { in: 'path' } | { required: true } ? P : never;
type ParamObject<P> = {
  [Q in Present<P> as Q extends { name: infer N extends string } ? N : never]: Q extends { schema: infer S } ? StaticOf<S> : never;
} & {
  [Q in Exclude<P, Present<P>> as Q extends { name: infer N extends string } ? N : never]?: Q extends { schema: infer S }
    ? StaticOf<S>
    : never;
};
type BodyOf<Op> = Op extends { requestBody: { schema: infer S } } ? StaticOf<S> : undefined;
// The body of any success status. (Not keyed by status: fastify types a keyed Reply's send() only
// after code(), and most handlers answer 200 without calling it.)
type ReplyOf<Op> = Op extends { responses: infer R }
  ? { [Status in keyof R]: R[Status] extends { schema: infer S } ? StaticOf<S> : unknown }[keyof R]
  : never;

/** The RouteGeneric (Params, Querystring, Body, Reply) of an operation. */
export interface RouteOf<Id extends OperationId> {
  Params: ParamObject<ParametersIn<OperationOf<Id>, 'path'>>;
  Querystring: ParamObject<ParametersIn<OperationOf<Id>, 'query'>>;
  Body: BodyOf<OperationOf<Id>>;
  Reply: ReplyOf<OperationOf<Id>>;
}

export type Request<Id extends OperationId> = FastifyRequest<RouteOf<Id>>;
export type Reply<Id extends OperationId> = FastifyReply<RouteOf<Id>>;

/** The handler of an operation: returns its reply, or sends it (then returns the FastifyReply). */
export type Handler<Id extends OperationId> = (req: Request<Id>, reply: Reply<Id>) => Promise<RouteOf<Id>['Reply'] | Reply<Id>>;
