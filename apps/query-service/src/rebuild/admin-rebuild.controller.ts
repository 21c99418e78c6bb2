import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ORDER_SCOPES, RequireScope } from '@orders/platform';
import { ReadModelRebuilder, type RebuildStatus } from './read-model.rebuilder';

/** Rebuild every read model from the command service's feed (§5 "Rebuild"). */
@Controller('admin/rebuild')
@RequireScope(ORDER_SCOPES.admin)
export class AdminRebuildController {
  constructor(private readonly rebuilder: ReadModelRebuilder) {}

  /** Starts a rebuild (or resumes an interrupted one) and answers at once; poll GET for progress. */
  @Post()
  @HttpCode(202)
  start(): Promise<RebuildStatus> {
    return this.rebuilder.start();
  }

  @Get()
  status(): Promise<RebuildStatus> {
    return this.rebuilder.status();
  }
}
