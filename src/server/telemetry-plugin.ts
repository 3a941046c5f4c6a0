import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type OperationDefinitionNode } from 'graphql';
import { graphqlRequestDuration } from '../telemetry/metrics';
import { activeSpan } from '../telemetry/tracing';

/** The bounded name of an operation for a metric label: its type and first root field, from the schema's own names. */
export function operationLabel(operation: OperationDefinitionNode | undefined): string {
  if (!operation) return 'invalid';
  const first = operation.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return `${operation.operation} ${first && first.kind === Kind.FIELD ? first.name.value : '(fragment)'}`;
}

/** Every `userErrors[].code` in a response's data, one level under each root field (the mutations' payloads). Pure. */
export function userErrorCodes(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return [];
  const codes = new Set<string>();
  for (const payload of Object.values(data)) {
    const errors = (payload as { userErrors?: unknown } | null)?.userErrors;
    if (!Array.isArray(errors)) continue;
    for (const e of errors) if (typeof (e as { code?: unknown })?.code === 'string') codes.add((e as { code: string }).code);
  }
  return [...codes].sort();
}

/**
 * Times every GraphQL request by operation and outcome (`ok`, `user_error`, `error`, `refused`: never parsed or
 * validated), and names the operation's span (the child of the HTTP server span that runs it) after the operation
 * (OpenTelemetry's GraphQL conventions: `graphql.operation.type`, `graphql.operation.name`) with the `userErrors`
 * codes it answered.
 */
export function telemetryPlugin<C extends object>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      const started = performance.now();
      let operation = 'invalid';
      return {
        async didResolveOperation({ operation: op, operationName }) {
          operation = operationLabel(op);
          const span = activeSpan();
          if (span && op) {
            span.updateName(`${op.operation} ${operationName ?? operation.split(' ')[1]}`.slice(0, 100));
            span.setAttribute('graphql.operation.type', op.operation);
            if (operationName) span.setAttribute('graphql.operation.name', operationName.slice(0, 200));
          }
        },
        async willSendResponse({ response, errors }) {
          const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const codes = userErrorCodes(single?.data);
          const failed = (errors?.length ?? 0) > 0 || (single?.errors?.length ?? 0) > 0;
          const outcome = operation === 'invalid' ? 'refused' : failed ? 'error' : codes.length > 0 ? 'user_error' : 'ok';
          graphqlRequestDuration.observe({ operation, outcome }, (performance.now() - started) / 1000);
          const span = activeSpan();
          if (span) {
            span.setAttribute('invoicing.graphql.outcome', outcome);
            if (codes.length > 0) span.setAttribute('invoicing.user_error.codes', codes);
            const errorCodes = [...new Set((single?.errors ?? []).map((e) => String(e.extensions?.code ?? 'UNKNOWN')))];
            if (errorCodes.length > 0) span.setAttribute('graphql.error.codes', errorCodes);
          }
        },
      };
    },
  };
}
