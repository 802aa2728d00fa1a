export * from './chisquare';
export * from './descriptive';
export * from './ttest';
