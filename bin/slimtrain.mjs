#!/usr/bin/env node
// The npm bin: runs the built CLI (npm install builds dist/ through the prepare script).
import { main } from "../dist/cli.js";
import process from "node:process";

process.exitCode = await main(process.argv.slice(2));
