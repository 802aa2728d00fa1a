/** TypeBox schemas of the ab routes: one per shape, used for validation, OpenAPI and types. */
import { Type } from 'typebox';
import { DateTime } from '../../../platform/http/schemas';

const EXPERIMENT_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_.-]{0,63}$';

const IsoTime = DateTime('UTC, ISO 8601');
const NullableIsoTime = Type.Union([IsoTime, Type.Null()]);

const OptionValueSchema = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Number()], {
  description: 'The value a device gets, as configured: a string (e.g. a colour) or a number (e.g. a price)',
});

/** Not closed: any other request header is allowed; listed for the documentation. */
export const DeviceTokenHeaders = Type.Object({
  'device-token': Type.Optional(
    Type.String({
      description:
        'The device identifier: 8-128 characters of A-Z a-z 0-9 . _ ~ : - (a UUID is valid). ' +
        'Missing or empty: 400; anything else invalid: 401.',
    }),
  ),
});

export const DeviceAnswerSchema = Type.Array(Type.Record(Type.String(), OptionValueSchema), {
  description:
    'One object per experiment the device takes part in: [{"button_color": "#FF0000"}, {"price": 10}]',
});

export const ExplainSchema = Type.Object(
  {
    known: Type.Boolean({ description: 'Whether the device was seen before (explain never records it)' }),
    first_seen_at: NullableIsoTime,
    experiments: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          participating: Type.Boolean(),
          value: Type.Union([OptionValueSchema, Type.Null()]),
          reason: Type.Union([
            Type.Literal('assigned'),
            Type.Literal('started_after_first_seen'),
            Type.Literal('stopped_before_first_seen'),
            Type.Literal('not_recorded'),
            Type.Literal('would_enter'),
            Type.Literal('stopped'),
          ]),
          detail: Type.String(),
          assignment: Type.Union([
            Type.Object(
              {
                version: Type.Integer({ description: 'Deck version the device entered' }),
                k: Type.Integer({ description: 'The device was the k-th (from 0) to enter that version' }),
                slot: Type.Integer({ description: 'k mod deck size' }),
                option: Type.Integer({ description: 'Option position' }),
              },
              { additionalProperties: false },
            ),
            Type.Null(),
          ]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const OptionInputSchema = Type.Object(
  {
    value: OptionValueSchema,
    weight: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Positive integer weight' }),
  },
  { additionalProperties: false },
);

const OptionsInput = Type.Array(OptionInputSchema, {
  minItems: 2,
  maxItems: 100,
  description: 'At least two options with distinct values',
});

export const CreateExperimentBody = Type.Object(
  {
    name: Type.String({
      pattern: EXPERIMENT_NAME_PATTERN,
      errorMessage: {
        pattern: 'a letter, then up to 63 letters, digits, "_", "." or "-", e.g. button_color',
      },
      description: 'Unique; the key devices see',
    }),
    options: OptionsInput,
  },
  { additionalProperties: false },
);

export const WeightsBody = Type.Object(
  { options: OptionsInput },
  { additionalProperties: false, description: 'Every option of the experiment once, with its new weight' },
);

export const NameParams = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const ExperimentSchema = Type.Object(
  {
    name: Type.String(),
    status: Type.Union([Type.Literal('running'), Type.Literal('stopped')]),
    started_at: IsoTime,
    stopped_at: NullableIsoTime,
    version: Type.Integer({ description: 'Current deck version; a weight change adds one' }),
    deck_size: Type.Integer({ description: 'Sum of the weights reduced by their gcd' }),
    options: Type.Array(
      Type.Object({ value: OptionValueSchema, weight: Type.Integer() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

export const ExperimentListSchema = Type.Array(ExperimentSchema);

export const StatsSchema = Type.Object(
  {
    generated_at: IsoTime,
    srm_alpha: Type.Number({ description: 'SRM is flagged when p_value is below this' }),
    srm_min_expected: Type.Number({
      description: 'The check is only made once every option expects at least this many devices',
    }),
    experiments: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          status: Type.Union([Type.Literal('running'), Type.Literal('stopped')]),
          started_at: IsoTime,
          stopped_at: NullableIsoTime,
          version: Type.Integer(),
          devices: Type.Integer(),
          options: Type.Array(
            Type.Object(
              {
                value: OptionValueSchema,
                weight: Type.Integer(),
                devices: Type.Integer(),
                share: Type.Union([Type.Number(), Type.Null()], { description: 'devices / total, 0..1' }),
                percent: Type.String({ description: 'The share as the page shows it, one decimal' }),
                expected: Type.Number({
                  description: 'Devices expected from the weights they entered under',
                }),
              },
              { additionalProperties: false },
            ),
          ),
          srm: Type.Object(
            {
              chi_square: Type.Number(),
              df: Type.Integer(),
              p_value: Type.Number(),
              testable: Type.Boolean({ description: 'Every expected count is at least 5' }),
              mismatch: Type.Boolean({ description: 'testable and p_value < srm_alpha' }),
              verdict: Type.Enum(['too_few_devices', 'no_mismatch', 'mismatch'], {
                description: 'too_few_devices whenever the test is not valid (0 devices included)',
              }),
              summary: Type.String({
                description: 'The verdict as the stats page and the dashboard show it',
                examples: ['p = 0.930, no sample ratio mismatch', 'too few devices to test (none yet)'],
              }),
            },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
