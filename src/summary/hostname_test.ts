import { hostname } from "node:os";
import { assertEquals, test } from "../../test/harness.ts";
import { defaultHostname } from "./hostname.ts";

test("defaultHostname() names this machine as os.hostname() does, made safe for a file name", async () => {
  const expected = hostname().trim().replace(/[^A-Za-z0-9._-]/g, "_") || "localhost";
  assertEquals(await defaultHostname(), expected);
});
