// Port checks of `npm start`: refuse to start over another mesh, and suggest a base that fits.
import net from "node:net";

/** True when something already listens there: starting over it would talk to a stranger's mesh. */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(true));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(false)));
  });
}

/** The first ONERING_PORT_BASE from `from` on (in steps of 100) whose `count` ports are all free. */
export async function freePortBase(from: number, count: number): Promise<number | undefined> {
  for (let base = from; base + count <= 65_535; base += 100) {
    let free = true;
    for (let port = base; port < base + count && free; port++) free = !(await portTaken(port));
    if (free) return base;
  }
  return undefined;
}
