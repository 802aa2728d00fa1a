/** TypeBox shapes shared by every module's wire format. */
import { Type } from 'typebox';

/** An instant on the wire: an ISO 8601 date-time string (a Date is serialized as its toISOString()). */
export const DateTime = (description = 'ISO 8601, UTC') => Type.String({ format: 'date-time', description });
