// The data analyze-schema produces: issue definitions, reported issues and the summary. Renderers
// (src/reports/schema-analysis) depend only on these types, never on the rules. The JSON report is
// this shape serialised as-is, so field names here are the stable JSON field names.

/** Issue categories, as they appear in every report format. */
export const ISSUE_CATEGORIES = [
  'unsupported_features',
  'unsupported_datatypes',
  'unsupported_query_constructs',
  'unsupported_plpgsql_objects',
  'migration_caveats',
  'performance_optimizations',
] as const;

export type IssueCategory = (typeof ISSUE_CATEGORIES)[number];

/** Human titles of the categories, for headings. */
export const CATEGORY_TITLES: Record<IssueCategory, string> = {
  unsupported_features: 'Unsupported features',
  unsupported_datatypes: 'Unsupported data types',
  unsupported_query_constructs: 'Unsupported query constructs',
  unsupported_plpgsql_objects: 'Unsupported PL/pgSQL objects',
  migration_caveats: 'Migration caveats',
  performance_optimizations: 'Performance optimizations',
};

/** One issue type: stable id, category and the text every occurrence shares. */
export interface IssueDefinition {
  /** Stable id, e.g. `GIST_INDEX`; never renamed once released. */
  type: string;
  category: IssueCategory;
  title: string;
  reason: string;
  suggestion: string;
  docsLink?: string;
}

/** One reported occurrence. */
export interface SchemaIssue {
  category: IssueCategory;
  type: string;
  title: string;
  objectType: string;
  objectName: string;
  reason: string;
  /** The exact statement the issue was found in. */
  sql: string;
  suggestion: string;
  docsLink: string | undefined;
  file: string;
  line: number;
}

/** Count of issues in one category. */
export interface CategoryCount {
  category: IssueCategory;
  title: string;
  issues: number;
}

/** Objects of one type: how many were analysed and how many have at least one issue. */
export interface ObjectTypeCount {
  objectType: string;
  totalObjects: number;
  objectsWithIssues: number;
  issues: number;
}

/** The whole analysis, what every renderer takes. */
export interface SchemaAnalysisReport {
  /** Version of this report shape, bumped on incompatible JSON changes. */
  reportVersion: 1;
  generatedAt: string;
  /** Target the analysis is for, e.g. "YugabyteDB". */
  target: string;
  files: string[];
  summary: {
    totalIssues: number;
    byCategory: CategoryCount[];
    byObjectType: ObjectTypeCount[];
  };
  issues: SchemaIssue[];
}
