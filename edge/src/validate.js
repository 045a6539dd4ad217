// Strict validation of a request object against a small schema: unknown fields, missing fields,
// wrong types and out-of-range values are each a 400 naming the field.
import { badField } from "./http.js";

/**
 * Field specs: {type: "string", maxLength, nonEmpty} | {type: "boolean"} |
 * {type: "integer", min, max} | {type: "integers", maxItems, min, max} |
 * {type: "numbers", length} — plus `optional: true` and `default`.
 * @returns {Record<string, unknown>} the fields, defaults filled in
 */
export function validate(body, schema) {
  for (const name of Object.keys(body)) {
    if (!Object.hasOwn(schema, name)) throw badField(name, `unknown field ${name}`);
  }
  const out = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (!Object.hasOwn(body, name) || body[name] === undefined) {
      if (!spec.optional) throw badField(name, `${name} is required`);
      out[name] = spec.default;
      continue;
    }
    out[name] = CHECKS[spec.type](name, body[name], spec);
  }
  return out;
}

const isInt = (v) => typeof v === "number" && Number.isSafeInteger(v);

const CHECKS = {
  string(name, value, spec) {
    if (typeof value !== "string") throw badField(name, `${name} must be a string`);
    if (spec.nonEmpty && value.trim().length === 0) {
      throw badField(name, `${name} must not be empty`);
    }
    if (value.length > spec.maxLength) {
      throw badField(name, `${name} is limited to ${spec.maxLength} characters`);
    }
    return value;
  },
  boolean(name, value) {
    if (typeof value !== "boolean") throw badField(name, `${name} must be true or false`);
    return value;
  },
  integer(name, value, spec) {
    if (!isInt(value) || value < spec.min || value > spec.max) {
      throw badField(name, `${name} must be an integer from ${spec.min} to ${spec.max}`);
    }
    return value;
  },
  integers(name, value, spec) {
    if (!Array.isArray(value)) throw badField(name, `${name} must be an array of integers`);
    if (value.length > spec.maxItems) {
      throw badField(name, `${name} is limited to ${spec.maxItems} items`);
    }
    value.forEach((v, i) => {
      if (!isInt(v) || v < spec.min || v > spec.max) {
        throw badField(`${name}[${i}]`, `${name}[${i}] must be an integer from ${spec.min} to ${spec.max}`);
      }
    });
    return value;
  },
  numbers(name, value, spec) {
    if (!Array.isArray(value) || value.length !== spec.length) {
      throw badField(name, `${name} must be an array of ${spec.length} numbers`);
    }
    value.forEach((v, i) => {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw badField(`${name}[${i}]`, `${name}[${i}] must be a finite number`);
      }
    });
    if (!value.some((v) => v !== 0)) throw badField(name, `${name} must not be all zeros`);
    return value;
  },
};
