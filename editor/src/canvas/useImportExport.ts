/**
 * Import and Export in the studio. Export saves first, then downloads the server's export of
 * the workflow (the current document version) named after it. An imported file becomes a new
 * workflow, opened at once; the importer's dialog lists problems when it cannot.
 */
import { useCallback } from 'react';
import type { ImportResult } from '../api/client';
import { api } from '../api/client';
import { navigate } from '../state/routes';
import { useToasts } from '../ui/toasts';
import { useImporter } from '../workflows/useImporter';

export function useImportExport(options: {
  /** Saves the workflow now and answers its id (autosave's flush). */
  save(): Promise<string>;
  /** The workflow's name, for the downloaded file. */
  name: string;
}) {
  const { save, name } = options;
  const toasts = useToasts();

  const onImported = useCallback(
    (result: ImportResult) => {
      toasts.success(
        `Imported “${result.workflow.name}”`,
        result.migratedFrom !== undefined
          ? `It was saved by an older version (document version ${result.migratedFrom}) and has been migrated.`
          : undefined,
      );
      navigate({ page: 'studio', workflowId: result.workflow.id });
    },
    [toasts],
  );
  const importer = useImporter(onImported);

  const exportWorkflow = useCallback(async () => {
    try {
      const id = await save();
      const link = document.createElement('a');
      link.href = api.exportUrl(id);
      link.download = `${name.replace(/[^\w.-]+/g, '-') || 'workflow'}.json`;
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      toasts.error(error, 'Export failed');
    }
  }, [save, name, toasts]);

  return { importer, exportWorkflow };
}
