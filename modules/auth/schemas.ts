import * as v from 'valibot';
import { plainText, wellFormed } from '../../kernel/validation.js';

const ONLY_DOCUMENTED_FIELDS = 'unknown field; only the documented fields are accepted';

export const RegisterBody = v.strictObject(
  {
    name: v.pipe(v.string('must be a string'), plainText(), v.trim(), v.minLength(1, 'must be 1-150 characters'), v.maxLength(150, 'must be 1-150 characters')),
    email: v.pipe(v.string('must be a string'), plainText(), v.trim(), v.maxLength(254, 'must be at most 254 characters'), v.email('must be an email address'), v.toLowerCase()),
    password: v.pipe(v.string('must be a string'), wellFormed(), v.minLength(8, 'must be 8-128 characters'), v.maxLength(128, 'must be 8-128 characters')),
  },
  ONLY_DOCUMENTED_FIELDS,
);

export const LoginBody = v.strictObject(
  {
    email: v.pipe(v.string('must be a string'), plainText(), v.trim(), v.minLength(1, 'is required'), v.maxLength(254, 'must be at most 254 characters'), v.toLowerCase()),
    password: v.pipe(v.string('must be a string'), v.minLength(1, 'is required'), v.maxLength(128, 'must be at most 128 characters')),
  },
  ONLY_DOCUMENTED_FIELDS,
);

export const UserSchema = v.object({
  id: v.number(),
  name: v.string(),
  email: v.string(),
  role: v.picklist(['customer', 'admin']),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
});
