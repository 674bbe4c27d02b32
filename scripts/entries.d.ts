export declare const ENTRIES: Record<string, string>;
