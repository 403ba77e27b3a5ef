// Prints the path of a usable nats-server (>= 2.10), fetching one into .cache/ when needed.
// Runs before the tests so parallel test files find the binary ready.
import { findNatsServer, NatsServerNotFound } from '../dev/nats-server/binary.ts';

try {
  console.log(await findNatsServer(process.env.NATS_SERVER_BIN, (msg) => console.error(msg)));
} catch (err) {
  console.error(err instanceof NatsServerNotFound ? err.message : err);
  process.exit(1);
}
