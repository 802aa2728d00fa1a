export * from './chisquare';
export * from './cusum';
export * from './descriptive';
export * from './ttest';
