// Where Governor reads the time: passed in, so that tests, replay and the simulator can move it.
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
