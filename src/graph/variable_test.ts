// placeholder, variable and constant refuse arguments in TensorFlow's order or
// of the wrong kind at the call, naming the signature, instead of crashing later
// (`shape.join is not a function`) or accepting a dtype the graph cannot run.
import "../ops/mod.ts";
import { assert, assertEquals, assertThrows, test } from "../../test/harness.ts";
import { Graph } from "./graph.ts";
import { constantInitializer, xavierInitializer } from "./initializers.ts";
import { constant, placeholder, variable } from "./variable.ts";

const inGraph = <T>(fn: () => T): T => new Graph().asDefault(fn);

test("placeholder() in TensorFlow's order (dtype, shape) says the shape comes first, with the call to write", async () => {
  await assertThrows(
    () => inGraph(() => placeholder("float32" as never, [4, 28, 28, 1] as never, "images")),
    `placeholder: the shape comes first: placeholder([4, 28, 28, 1], "float32", "images"); the signature is placeholder(shape, dtype = "float32", name = "Placeholder"), not TensorFlow's placeholder(dtype, shape)`,
  );
  // Without a name the suggestion leaves it out too.
  const err = await assertThrows(() => inGraph(() => placeholder("int64" as never, [4] as never)), 'placeholder([4], "int64")');
  assert(!err.message.includes('"int64", "Placeholder"'), err.message);
});

test("placeholder() refuses a dtype slimtrain lacks, a shape that is not a list of sizes, and a bad name or graph", async () => {
  await assertThrows(
    () => inGraph(() => placeholder([4, 10], "float64" as never, "x")),
    `placeholder: dtype of x must be one of "float32", "int64", "int32", "bool", got "float64" (floating-point graphs are float32 here)`,
  );
  await assertThrows(() => inGraph(() => placeholder([4], "uint8" as never, "y")), 'got "uint8" (integers are int64 or int32 here)');
  await assertThrows(
    () => inGraph(() => placeholder(4 as never, "float32", "x")),
    'placeholder: shape of x must be an array of non-negative integers (null or -1 where unknown), got 4; the signature is placeholder(shape, dtype = "float32", name = "Placeholder")',
  );
  await assertThrows(
    () => inGraph(() => placeholder([4, 2.5], "float32", "x")),
    "placeholder: shape of x [4, 2.5] has dimension 1 = 2.5; every dimension must be a non-negative integer, or null / -1 for one known only at run time (such as the batch)",
  );
  await assertThrows(() => inGraph(() => placeholder([4], "float32", { name: "x" } as never)), "placeholder: name must be a non-empty string, got an object with keys name");
  await assertThrows(() => placeholder([4], "float32", "x", {} as never), "placeholder: the last argument of x must be a Graph (or left out for the default graph), got an empty object");
  const ok = inGraph(() => placeholder([4, 10], "int32", "ids"));
  assertEquals([ok.name, [...ok.shape], ok.dtype], ["ids", [4, 10], "int32"]);
});

test("variable() refuses a shape in TensorFlow's get_variable position, unknown options and wrongly typed ones", async () => {
  await assertThrows(
    () => inGraph(() => variable("w", [3, 3] as never)),
    'variable: the second argument is an options object: variable("w", { shape: [3, 3] }), not a shape as in TensorFlow\'s get_variable(name, shape)',
  );
  await assertThrows(() => inGraph(() => variable("w", { shape: [2], initialiser: xavierInitializer() } as never)), "variable: unknown option initialiser for w (known: shape, dtype,");
  await assertThrows(() => inGraph(() => variable("w", { shape: [2], validate_shape: true } as never)), "variable: unknown option validate_shape for w");
  await assertThrows(
    () => inGraph(() => variable("w", { shape: [2], initializer: 0.1 } as never)),
    "variable: option initializer of w must be an Initializer such as constantInitializer(0.1) or truncatedNormalInitializer({ stddev: 0.1 }), got 0.1",
  );
  await assertThrows(
    () => inGraph(() => variable("w", { shape: [2], initializer: xavierInitializer } as never)),
    "variable: option initializer of w must be an Initializer: call xavierInitializer() to make one, got the function xavierInitializer",
  );
  await assertThrows(() => inGraph(() => variable("w", { shape: [2], regularizer: 0.0005 } as never)), "such as l2Regularizer(0.0005), got 0.0005");
  // Inside a scope the message names the variable in full (every layer has a "weights").
  const g = new Graph();
  await assertThrows(
    () => g.asDefault(() => g.withScope("net", () => g.withScope("conv1", () => variable("weights", { shape: [2], initializer: "zeros" } as never)))),
    'variable: option initializer of net/conv1/weights must be an Initializer such as zerosInitializer() or truncatedNormalInitializer({ stddev: 0.01 }), got "zeros"',
  );
  await assertThrows(() => inGraph(() => variable("w", { shape: [2], trainable: "no" } as never)), 'variable: option trainable of w must be true or false, got "no"');
  await assertThrows(() => inGraph(() => variable("w", { shape: [2], dtype: "float16" } as never)), 'variable: dtype of w must be one of "float32", "int64", "int32", "bool", got "float16"');
  await assertThrows(() => inGraph(() => variable("w", { shape: "2" } as never)), 'variable: shape of w must be an array of non-negative integers, got "2"');
  await assertThrows(() => inGraph(() => variable("", { shape: [2] })), 'variable: name must be a non-empty string, got ""');
  // Options left undefined (how layers pass absent ones) are fine.
  const v = inGraph(() => variable("w", { shape: [2], initializer: constantInitializer(0.5), storage: undefined, regularizer: undefined }));
  assertEquals([...v.shape], [2]);
});

test("constant() refuses a dtype in the shape's position (tf.constant's order), nested lists and non-numbers", async () => {
  await assertThrows(
    () => inGraph(() => constant([1, 2], "float32" as never)),
    'constant: the second argument is the shape: constant(values, shape, "float32"), not the dtype as in TensorFlow\'s constant(value, dtype)',
  );
  // Before, nested lists became NaN values without an error.
  await assertThrows(
    () => inGraph(() => constant([[1, 0], [0, 1]] as never)),
    "constant: values must be a flat list with the shape given apart, got nested arrays [[...], [...]]; e.g. constant([1, 0, 0, 1], [2, 2]) for [[1, 0], [0, 1]]",
  );
  await assertThrows(() => inGraph(() => constant(["a"] as never)), 'constant: values must be a number, an array of numbers or a typed array, got ["a"]');
  await assertThrows(() => inGraph(() => constant(undefined as never)), "constant: values must be a number, an array of numbers or a typed array, got undefined");
  await assertThrows(() => inGraph(() => constant([1, 2], [2], "float64" as never)), 'constant: dtype must be one of "float32", "int64", "int32", "bool", got "float64"');
  await assertThrows(() => inGraph(() => constant([1, 2, 3], [2])), "constant: 3 values do not fill shape [2]");
  const c = inGraph(() => constant([1, 0, 0, 1], [2, 2], "int32"));
  assertEquals([[...c.shape], c.dtype], [[2, 2], "int32"]);
});
