/** The HTTP server's time limits (node:http's options of the same names), in milliseconds. */
export interface HttpTimeouts {
  requestTimeout: number;
  headersTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
}

/**
 * Node's defaults let a client hold a connection for 5 minutes by sending a body a byte at a time (requestTimeout
 * 300 s). Here a request, its 16 MiB body included, must arrive within 30 s, its headers within 10 s; a slower one
 * is answered 408 and closed. Idle keep-alive connections close after 65 s, longer than a router's or load
 * balancer's usual idle timeout (60 s), so the peer closes first and never sends on a socket we are closing.
 * Node enforces the first two every connectionsCheckingInterval.
 */
export const HTTP_TIMEOUTS: HttpTimeouts = { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000, connectionsCheckingInterval: 1_000 };
