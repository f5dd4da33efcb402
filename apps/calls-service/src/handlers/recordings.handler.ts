import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Command } from '@ringcloud/nest-nats';
import { CallsRecordingGet, CallsRecordingList } from '@ringcloud/contracts-calls';
import { RecordingsService } from '../recordings/recordings.service';

/** NATS commands on recordings metadata (the files themselves are in the RECORDINGS object store). */
@Controller()
export class RecordingsHandler {
  constructor(private readonly recordings: RecordingsService) {}

  @Command(CallsRecordingList.contract)
  list(@Payload() req: CallsRecordingList.Request): Promise<CallsRecordingList.Response> {
    return this.recordings.list(req);
  }

  @Command(CallsRecordingGet.contract)
  get(@Payload() req: CallsRecordingGet.Request): Promise<CallsRecordingGet.Response> {
    return this.recordings.get(req);
  }
}
